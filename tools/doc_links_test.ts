import assert from "node:assert/strict";
import { anchorsOf, checkLinks, linksOf, slug } from "./doc_links.ts";

Deno.test("slug: GitHub's anchors for headings with code, punctuation and unicode", () => {
  assert.equal(slug("`http.cors`, `http.static`"), "httpcors-httpstatic");
  assert.equal(slug("Tokens and scopes (`http.auth`)"), "tokens-and-scopes-httpauth");
  assert.equal(slug("Object storage: what works"), "object-storage-what-works");
  assert.equal(slug("`sources`: `type: http`"), "sources-type-http");
  assert.equal(slug("Größe"), "größe");
});

Deno.test("anchorsOf numbers duplicate headings and ignores headings in code blocks", () => {
  const page = "# A\n## B\n```sh\n# not a heading\n```\n## B\n";
  assert.deepEqual([...anchorsOf(page)], ["a", "b", "b-1"]);
});

Deno.test("linksOf skips links inside inline code and fenced blocks", () => {
  const page = "see [x](a.md#b) and `[y](nope.md)`\n```\n[z](nope.md)\n```\n[w](c.md)\n";
  assert.deepEqual(linksOf(page), [{ line: 1, target: "a.md#b" }, { line: 5, target: "c.md" }]);
});

Deno.test("checkLinks reports missing files, missing anchors and nothing else", () => {
  const files: Record<string, string> = {
    "/r/README.md": "[ok](docs/a.md#two) [bad](docs/gone.md) [self](#intro)\n# Intro\n" +
      "[web](https://example.com) [anchor](docs/a.md#three) [dir](docs)\n",
    "/r/docs/a.md": "# One\n## Two\n[up](../README.md#intro) [code](../src/x.ts#L3)\n",
    "/r/src/x.ts": "",
  };
  const dirs = new Set(["/r/docs"]);
  const broken = checkLinks(
    "/r",
    ["README.md", "docs/a.md"],
    (p) => files[p],
    (p) => p in files || dirs.has(p),
  );
  assert.deepEqual(broken, [
    { file: "README.md", line: 1, target: "docs/gone.md", problem: "no such file" },
    {
      file: "README.md",
      line: 3,
      target: "docs/a.md#three",
      problem: "no heading with anchor #three",
    },
    {
      file: "docs/a.md",
      line: 3,
      target: "../src/x.ts#L3",
      problem: "an anchor into a file that is not Markdown",
    },
  ]);
});
