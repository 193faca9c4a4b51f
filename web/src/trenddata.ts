// A trend's numbers as a coach reads them: one series per metric, and a sentence that
// says what a chart shows (the chart's accessible description; the table has every value).
import type { TrendPoint } from "./api.js";
import { percent } from "./format.js";

export interface TrendMetric {
  key: "oeq_ratio" | "mean_wait_time_s" | "questions_per_minute";
  title: string;
  /** The value as plotted (shares as percentages), null where the video has none. */
  value: (p: TrendPoint) => number | null;
  /** The value as written. */
  text: (p: TrendPoint) => string;
}

const fixed = (digits: number, unit = "") => (n: number | null) => n == null ? "–" : `${n.toFixed(digits)}${unit}`;

export const TREND_METRICS: TrendMetric[] = [
  { key: "oeq_ratio", title: "Open-ended (OEQ) share, %",
    value: (p) => p.oeq_ratio == null ? null : Math.round(p.oeq_ratio * 1000) / 10, text: (p) => percent(p.oeq_ratio) },
  { key: "mean_wait_time_s", title: "Mean wait time, seconds",
    value: (p) => p.mean_wait_time_s, text: (p) => fixed(1, " s")(p.mean_wait_time_s) },
  { key: "questions_per_minute", title: "Questions per minute",
    value: (p) => p.questions_per_minute, text: (p) => fixed(1)(p.questions_per_minute) },
];

/** The x-axis: the recording date, with the title when there is one. */
export function pointLabel(p: TrendPoint): string {
  return p.title ? `${p.recorded_on} ${p.title}` : p.recorded_on;
}

/** "Open-ended (OEQ) share, % over 3 videos: from 20% (2026-10-02) to 60% (2026-11-20), highest 60%." */
export function describeTrend(metric: TrendMetric, points: TrendPoint[]): string {
  const measured = points.filter((p) => metric.value(p) != null);
  const count = `${points.length} video${points.length === 1 ? "" : "s"}`;
  if (!measured.length) return `${metric.title} over ${count}: not measured.`;
  const first = measured[0];
  const last = measured[measured.length - 1];
  const highest = measured.reduce((a, b) => (metric.value(b)! > metric.value(a)! ? b : a));
  if (measured.length === 1) return `${metric.title} over ${count}: ${metric.text(first)} (${first.recorded_on}).`;
  return `${metric.title} over ${count}: from ${metric.text(first)} (${first.recorded_on}) to ` +
    `${metric.text(last)} (${last.recorded_on}), highest ${metric.text(highest)}.`;
}
