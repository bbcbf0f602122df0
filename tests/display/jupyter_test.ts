// lib/display/jupyter.ts without a Jupyter kernel: the fallbacks and the escaping of HTML outputs.
import assert from "node:assert/strict";
import { escapeHtml, jupyterApi, scriptJson } from "../../lib/display/jupyter.ts";

Deno.test("jupyterApi is undefined outside the kernel instead of throwing", () => {
  assert.equal(jupyterApi(), undefined);
});

Deno.test("escapeHtml and scriptJson neutralise markup", () => {
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
  const json = scriptJson({ title: "</script><script>alert(1)</script>", s: "\u2028" });
  assert.ok(!json.includes("<") && !json.includes(">") && !json.includes("\u2028"));
  assert.deepEqual(JSON.parse(json), { title: "</script><script>alert(1)</script>", s: "\u2028" });
});
