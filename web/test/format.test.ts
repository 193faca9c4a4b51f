import assert from "node:assert/strict";
import { test } from "node:test";
import { bytes, clock, estimateSecondsLeft, percent, timeLeft, waitTime } from "../src/format.js";

test("clock reads as minutes, seconds and tenths, with hours past an hour", () => {
  assert.equal(clock(7.24), "0:07.2");
  assert.equal(clock(83), "1:23.0");
  assert.equal(clock(59.96), "1:00.0");
  assert.equal(clock(3725), "1:02:05.0");
  assert.equal(clock(-1), "–");
  assert.equal(clock(Number.NaN), "–");
});

test("shares and wait times, with the missing said plainly", () => {
  assert.equal(percent(0.6), "60%");
  assert.equal(percent(null), "–");
  assert.equal(waitTime(3.5), "3.5 s");
  assert.match(waitTime(null), /end of recording/);
});

test("time left is estimated from progress and rounded as people say it", () => {
  assert.equal(estimateSecondsLeft(0, 10), null);
  assert.equal(estimateSecondsLeft(0.5, 10), 10);
  assert.equal(estimateSecondsLeft(1, 10), 0);
  assert.equal(timeLeft(null), "estimating…");
  assert.equal(timeLeft(8), "about 10 s");
  assert.equal(timeLeft(95), "about 2 min");
  assert.equal(timeLeft(0.2), "almost done");
});

test("bytes", () => {
  assert.equal(bytes(512), "512 B");
  assert.equal(bytes(1536), "1.5 KB");
  assert.equal(bytes(3 * 1024 ** 3), "3.0 GB");
});
