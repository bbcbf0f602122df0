/**
 * Looks at the rendered copy as a reader on GitHub does: converts it to HTML with nbconvert,
 * removes every script (GitHub's notebook view runs none), opens the page in headless Chromium,
 * and reports which pictures are visible. With `--screenshots DIR` it also saves the page as
 * PNG slices of at most 4,000 pixels, to look at.
 *
 * @example
 * ```sh
 * deno run -A jupyter/preview.ts mnist_handwritten_digit_recognizer.rendered.ipynb --screenshots outputs/preview
 * ```
 *
 * @module
 */
import { join, resolve } from "node:path";
import { Chromium } from "../lib/display/chromium.ts";
import { SYSTEM_PYTHON } from "./setup.ts";
import { RENDERED_NOTEBOOK } from "./rendered_copy.ts";

/** What a reader sees of each picture on the script-free page. */
export interface PictureView {
  /** The picture's alternative text or position, to name it. */
  name: string;
  /** Whether the image decoded and takes up room on the page. */
  visible: boolean;
  width: number;
  height: number;
  /** Distance from the top of the page, in CSS pixels. */
  top: number;
}

/** The result of {@link previewWithoutScripts}. */
export interface Preview {
  pictures: PictureView[];
  /** `<script>` elements left in the page (0: they were all removed). */
  scripts: number;
  /** The page's height in CSS pixels. */
  pageHeight: number;
  /** Screenshot slices written, if asked for. */
  screenshots: string[];
}

/** Removes every `<script>` element, as GitHub's notebook view does not run them. */
export function dropScripts(html: string): string {
  return html.replace(/<script\b[\s\S]*?<\/script\s*>/gi, "");
}

/** Converts a notebook to standalone HTML with Debian's nbconvert; returns the HTML. */
async function nbconvertHtml(notebook: string, dir: string): Promise<string> {
  const result = await new Deno.Command(SYSTEM_PYTHON, {
    args: ["-m", "nbconvert", "--to", "html", "--log-level", "WARN", "--output-dir", dir, notebook],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(
      `nbconvert could not convert ${notebook} to HTML:\n${
        new TextDecoder().decode(result.stderr)
      }`,
    );
  }
  const name = notebook.split("/").pop()!.replace(/\.ipynb$/, ".html");
  return await Deno.readTextFile(join(dir, name));
}

/**
 * Opens `notebook` as HTML without scripts in headless Chromium and reports its pictures.
 */
export async function previewWithoutScripts(
  notebook: string,
  options: { screenshots?: string } = {},
): Promise<Preview> {
  const dir = await Deno.makeTempDir({ prefix: "preview-" });
  const browser = await Chromium.launch({ windowSize: [1000, 1000] });
  try {
    const page = join(dir, "page.html");
    await Deno.writeTextFile(page, dropScripts(await nbconvertHtml(resolve(notebook), dir)));
    await browser.open(`file://${page}`);
    const found = await browser.evaluate(`(async () => {
      const images = [...document.querySelectorAll("img")];
      await Promise.all(images.map((img) => img.decode().catch(() => undefined)));
      return {
        scripts: document.querySelectorAll("script").length,
        pageHeight: document.documentElement.scrollHeight,
        pictures: images.map((img, i) => {
          const box = img.getBoundingClientRect();
          return {
            name: img.alt || "picture " + (i + 1),
            visible: img.complete && img.naturalWidth > 0 && box.width > 0 && box.height > 0,
            width: Math.round(box.width),
            height: Math.round(box.height),
            top: Math.round(box.top + scrollY),
          };
        }),
      };
    })()`) as Omit<Preview, "screenshots">;
    const screenshots: string[] = [];
    if (options.screenshots !== undefined) {
      await Deno.mkdir(options.screenshots, { recursive: true });
      const png = await browser.screenshotSlices(4000);
      for (const [i, slice] of png.entries()) {
        const file = join(options.screenshots, `page-${String(i + 1).padStart(2, "0")}.png`);
        await Deno.writeFile(file, slice);
        screenshots.push(file);
      }
    }
    return { ...found, screenshots };
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const args = [...Deno.args];
  const at = args.indexOf("--screenshots");
  const screenshots = at >= 0 ? args.splice(at, 2)[1] : undefined;
  const notebook = args[0] ?? RENDERED_NOTEBOOK;
  const preview = await previewWithoutScripts(notebook, { screenshots });
  for (const picture of preview.pictures) {
    console.log(
      `${picture.visible ? "visible" : "MISSING"}  ${picture.width}x${picture.height} at ` +
        `y=${picture.top}  ${picture.name}`,
    );
  }
  const missing = preview.pictures.filter((p) => !p.visible).length;
  console.log(
    `${preview.pictures.length} pictures, ${missing} missing, ${preview.scripts} scripts left, ` +
      `page ${preview.pageHeight} px tall${
        preview.screenshots.length ? `; screenshots: ${preview.screenshots.join(", ")}` : ""
      }`,
  );
  if (missing > 0 || preview.scripts > 0) Deno.exit(1);
}
