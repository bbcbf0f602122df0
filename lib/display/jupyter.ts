/**
 * Showing rich outputs from notebook cells running in the Deno Jupyter kernel: MIME bundles,
 * SVG images, and the escaping that HTML outputs need.
 *
 * Everything is importable outside Jupyter (tests, scripts): there `Deno.jupyter` throws on
 * access, so the helpers fall back to plain text on stdout.
 *
 * @module
 */

/** A MIME bundle as understood by Jupyter frontends (`{"text/html": "...", ...}`). */
export type MediaBundle = Deno.jupyter.MediaBundle;

/** Sends a Jupyter IOPub message; {@link Deno.jupyter.broadcast} in the kernel. */
export type Broadcast = (msgType: string, content: Record<string, unknown>) => Promise<void>;

/**
 * Returns `Deno.jupyter` inside the Deno kernel, `undefined` elsewhere.
 *
 * Accessing `Deno.jupyter` outside `deno jupyter` throws, hence the try/catch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jupyterApi } from "./jupyter.ts";
 * assert.equal(jupyterApi(), undefined, "a test runs outside the Jupyter kernel");
 * ```
 */
export function jupyterApi(): typeof Deno.jupyter | undefined {
  try {
    return Deno.jupyter;
  } catch {
    return undefined;
  }
}

/**
 * Escapes text for use inside HTML element content or a double-quoted attribute.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./jupyter.ts";
 * assert.equal(escapeHtml(`<b title="x">&</b>`), "&lt;b title=&quot;x&quot;&gt;&amp;&lt;/b&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/**
 * Serialises a value as JSON that is safe to embed inside an HTML `<script>` element:
 * `<`, `>`, `&` and the JS line separators are \u-escaped, so a string such as `"</script>"`
 * in a plot title cannot end the script early.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scriptJson } from "./jupyter.ts";
 * assert.equal(scriptJson({ title: "</script>" }), '{"title":"\\u003c/script\\u003e"}');
 * ```
 */
export function scriptJson(value: unknown): string {
  const json = JSON.stringify(value ?? null);
  return json.replaceAll("<", "\\u003c").replaceAll(">", "\\u003e").replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028").replaceAll("\u2029", "\\u2029");
}

/**
 * Displays a MIME bundle in the current cell; outside Jupyter prints its `text/plain`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showBundle } from "./jupyter.ts";
 * // Outside Jupyter the text/plain part is printed.
 * const printed: string[] = [];
 * const log = console.log;
 * console.log = (text: string) => printed.push(text);
 * await showBundle({ "text/plain": "hello", "text/html": "<b>hello</b>" }).finally(() => console.log = log);
 * assert.deepEqual(printed, ["hello"]);
 * ```
 */
export async function showBundle(bundle: MediaBundle): Promise<void> {
  const jupyter = jupyterApi();
  if (jupyter === undefined) {
    console.log(bundle["text/plain"] ?? "[rich output: only visible in Jupyter]");
    return;
  }
  await jupyter.display(bundle, { raw: true });
}

/**
 * Displays an SVG image. It is sent as `image/svg+xml` AND inline in `text/html`, because
 * nbconvert 6.5's HTML export drops a bare `image/svg+xml` output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showSvg } from "./jupyter.ts";
 * const printed: string[] = [];
 * const log = console.log;
 * console.log = (text: string) => printed.push(text);
 * await showSvg('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"/>', "a dot")
 *   .finally(() => console.log = log);
 * assert.deepEqual(printed, ["a dot"]);
 * ```
 */
export async function showSvg(svg: string, text = "[SVG image]"): Promise<void> {
  await showBundle({ "image/svg+xml": svg, "text/html": svg, "text/plain": text });
}
