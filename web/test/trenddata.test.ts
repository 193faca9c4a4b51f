import assert from "node:assert/strict";
import { test } from "node:test";
import type { TrendPoint } from "../src/api.js";
import { describeTrend, pointLabel, TREND_METRICS } from "../src/trenddata.js";

const point = (recorded_on: string, oeq_ratio: number | null, extra: Partial<TrendPoint> = {}): TrendPoint => ({
  video_id: recorded_on, recorded_on, title: "", filename: "a.mp4", duration_s: 60, question_count: 4, oeq_ratio,
  mean_wait_time_s: 2.25, questions_per_minute: 3, answered_ratio: 0.5, ...extra,
});
const [oeq, wait] = TREND_METRICS;

test("shares are plotted as percentages and written as people read them", () => {
  assert.equal(oeq.value(point("2026-10-02", 0.256)), 25.6);
  assert.equal(oeq.text(point("2026-10-02", 0.256)), "26%");
  assert.equal(oeq.value(point("2026-10-02", null)), null);
  assert.equal(wait.text(point("2026-10-02", 0.2)), "2.3 s");
});

test("a chart's description says where the trend starts, ends and peaks", () => {
  const points = [point("2026-10-02", 0.2), point("2026-10-09", 0.7), point("2026-11-20", 0.6)];
  assert.equal(describeTrend(oeq, points),
    "Open-ended (OEQ) share, % over 3 videos: from 20% (2026-10-02) to 60% (2026-11-20), highest 70%.");
  assert.equal(describeTrend(oeq, [points[0]]), "Open-ended (OEQ) share, % over 1 video: 20% (2026-10-02).");
  assert.equal(describeTrend(oeq, [point("2026-10-02", null)]), "Open-ended (OEQ) share, % over 1 video: not measured.");
});

test("points are labelled by date, with the title when given", () => {
  assert.equal(pointLabel(point("2026-10-02", 0.2)), "2026-10-02");
  assert.equal(pointLabel(point("2026-10-02", 0.2, { title: "Sink or float" })), "2026-10-02 Sink or float");
});
