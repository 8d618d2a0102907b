import assert from "node:assert/strict";
import { isLoopback, pathOf, underPrefix } from "./_paths.ts";

Deno.test("pathOf decodes the path of an origin-form or absolute-form target, and refuses the rest", () => {
  assert.equal(pathOf("/live/snapshot?access_token=x"), "/live/snapshot");
  assert.equal(pathOf("/a%20b#frag"), "/a b");
  assert.equal(pathOf("http://host:8080/in?x=1"), "/in");
  assert.equal(pathOf("http://host:8080"), "/");
  assert.equal(pathOf("*"), undefined);
  assert.equal(pathOf("/%E0%A4%A"), undefined, "a broken escape");
});

Deno.test("underPrefix matches the prefix and what lies under it, not a longer name", () => {
  assert.equal(underPrefix("/ui", "/ui"), true);
  assert.equal(underPrefix("/ui/app.js", "/ui"), true);
  assert.equal(underPrefix("/ui/app.js", "/ui/"), true);
  assert.equal(underPrefix("/uix", "/ui"), false);
  assert.equal(underPrefix("/anything", "/"), true);
});

Deno.test("isLoopback: 127/8, ::1 and localhost only", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"]) {
    assert.equal(isLoopback(h), true, h);
  }
  for (const h of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com"]) {
    assert.equal(isLoopback(h), false, h);
  }
});
