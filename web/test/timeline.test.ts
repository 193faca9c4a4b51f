import assert from "node:assert/strict";
import { test } from "node:test";
import type { Question } from "../src/api.js";
import { layoutTimeline, ticks } from "../src/timeline.js";

const question = (start: number, end: number, label: "OEQ" | "CEQ", wait: number | null, speaker: "educator" | "child" = "educator"): Question =>
  ({ start, end, text: "?", speaker, label, oeq_probability: 0.5, wait_time_s: wait, answered: true });

test("one marker per question at its start, its wait bar after its end", () => {
  const [first, second] = layoutTimeline([question(10, 12, "OEQ", 3), question(40, 45, "CEQ", null)], 50);
  assert.deepEqual([first.left, first.waitWidth, first.symbol, first.index], [20, 6, "O", 0]);
  assert.deepEqual([second.left, second.waitWidth, second.symbol, second.label], [80, 0, "C", "CEQ"]);
});

test("a wait bar never runs past the end, children's questions get their own lane", () => {
  const [late, child] = layoutTimeline([question(48, 49, "OEQ", 5), question(5, 6, "CEQ", 1, "child")], 50);
  assert.equal(late.left + (49 - 48) / 50 * 100 + late.waitWidth <= 100, true);
  assert.equal(late.waitWidth, 2);
  assert.equal(child.lane, "child");
});

test("an unknown duration is taken from the last question", () => {
  const [only] = layoutTimeline([question(5, 10, "OEQ", 0)], 0);
  assert.equal(only.left, 50);
});

test("ticks fall on round seconds and there are never too many", () => {
  assert.deepEqual(ticks(50).map((t) => t.seconds), [0, 10, 20, 30, 40, 50]);
  assert.ok(ticks(3 * 3600).length <= 9);
  assert.deepEqual(ticks(0), []);
});
