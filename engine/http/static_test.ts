import assert from "node:assert/strict";
import { staticFiles } from "./static.ts";

async function site() {
  const root = await Deno.makeTempDir({ prefix: "litejoin-static-" });
  await Deno.mkdir(`${root}/www/app`, { recursive: true });
  await Deno.writeTextFile(`${root}/www/index.html`, "<h1>home</h1>");
  await Deno.writeTextFile(`${root}/www/app/main.js`, "export {}");
  await Deno.writeTextFile(`${root}/www/app/index.html`, "app");
  await Deno.writeTextFile(`${root}/www/.env`, "SECRET=1");
  await Deno.writeTextFile(`${root}/secret.txt`, "outside");
  await Deno.symlink(`${root}/secret.txt`, `${root}/www/link.txt`);
  return root;
}

Deno.test("static files: index.html for directories, types, redirects to the slash", async () => {
  const root = await site();
  try {
    const serve = staticFiles(`${root}/www`, "/ui");
    const get = async (path: string, method = "GET") => {
      const response = await serve(new Request(`http://engine${path}`, { method }));
      return { response, text: await response.text() };
    };
    let r = await get("/ui/");
    assert.equal(r.response.status, 200);
    assert.equal(r.text, "<h1>home</h1>");
    assert.equal(r.response.headers.get("content-type"), "text/html; charset=utf-8");
    r = await get("/ui/app/main.js");
    assert.equal(r.response.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(r.response.headers.get("content-length"), "9");
    r = await get("/ui");
    assert.equal(r.response.status, 301);
    assert.equal(r.response.headers.get("location"), "/ui/");
    r = await get("/ui/app");
    assert.equal(r.response.status, 301);
    assert.equal(r.response.headers.get("location"), "/ui/app/");
    r = await get("/ui/app/", "HEAD");
    assert.equal(r.response.status, 200);
    assert.equal(r.text, "");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("static files never serve dot-files, .. or a symlink out of the directory", async () => {
  const root = await site();
  try {
    const serve = staticFiles(`${root}/www`, "/");
    for (
      const path of [
        "/.env",
        "/../secret.txt",
        "/app/%2e%2e/%2e%2e/secret.txt",
        "/link.txt",
        "/nope.html",
      ]
    ) {
      const response = await serve(new Request(`http://engine${path}`));
      assert.equal(response.status, 404, path);
      assert.match((await response.json()).error, /^nothing is served at /);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
