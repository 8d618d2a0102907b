import assert from "node:assert/strict";
import { Frontier } from "./frontier.ts";

Deno.test("frontier on ingest time is the wall clock", () => {
  const frontier = new Frontier(true);
  frontier.observe(5000, 100);
  assert.equal(frontier.at(1234), 1234);
  assert.equal(frontier.wallOf(2000), 2000);
});

Deno.test("frontier on event time follows the latest event, then the wall clock", () => {
  const frontier = new Frontier(false);
  assert.equal(frontier.at(0), -Infinity);
  assert.equal(frontier.wallOf(10), undefined);
  frontier.observe(1000, 50_000); // event time 1s seen at wall 50s
  assert.equal(frontier.at(50_000), 1000);
  assert.equal(frontier.at(50_500), 1500, "a quiet stream still moves on");
  frontier.observe(1200, 50_500); // behind the watermark: it does not move back
  assert.equal(frontier.at(50_500), 1500);
  frontier.observe(9000, 50_600); // ahead: it jumps
  assert.equal(frontier.at(50_600), 9000);
  assert.equal(frontier.wallOf(9400), 51_000);
});
