import assert from "node:assert/strict";
import { test } from "node:test";
import type { VideoAnalysis } from "../src/api.js";
import { csvCell, questionsCsv } from "../src/export.js";

test("CSV cells are quoted when needed and never run as formulas", () => {
  assert.equal(csvCell('Is it "red", or blue?'), '"Is it ""red"", or blue?"');
  assert.equal(csvCell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
  assert.equal(csvCell(-1), "-1");
  assert.equal(csvCell(null), "");
});

test("one CSV row per question, with a header", () => {
  const analysis = { questions: [{ start: 1, end: 2, text: "Why?", speaker: "educator", label: "OEQ", oeq_probability: 0.9,
    wait_time_s: null, answered: false }] } as unknown as VideoAnalysis;
  const lines = questionsCsv(analysis).trimEnd().split("\r\n");
  assert.equal(lines.length, 2);
  assert.equal(lines[0].split(",")[0], "index");
  assert.equal(lines[1], "0,1,2,educator,OEQ,0.9,,false,Why?");
});
