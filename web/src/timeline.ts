// Where each question sits on the review timeline: pure layout, drawn by review.ts.
import type { Question } from "./api.js";

export interface Marker {
  index: number;          // the question's index in the analysis (what feedback names)
  left: number;           // percent of the timeline's width, 0–100
  waitWidth: number;      // percent: the wait time drawn as a bar after the question
  lane: "educator" | "child";
  label: "OEQ" | "CEQ";
  symbol: "O" | "C";      // the label not by colour alone: a letter and a shape
  start: number;
}

export interface Tick { left: number; seconds: number }

/** One marker per question; the wait bar starts where the question ends and never runs past the end. */
export function layoutTimeline(questions: Question[], durationS: number): Marker[] {
  const total = durationS > 0 ? durationS : Math.max(1, ...questions.map((q) => q.end));
  const pct = (t: number) => Math.min(100, Math.max(0, (t / total) * 100));
  return questions.map((q, index) => {
    const waitEnd = q.end + (q.wait_time_s ?? 0);
    return {
      index,
      left: pct(q.start),
      waitWidth: Math.max(0, pct(waitEnd) - pct(q.end)),
      lane: q.speaker === "child" ? "child" : "educator",
      label: q.label,
      symbol: q.label === "OEQ" ? "O" : "C",
      start: q.start,
    };
  });
}

/** Round-number ticks (every 5, 10, 30 s, 1, 5, 10 min…) giving at most ``maxTicks`` + 1 marks. */
export function ticks(durationS: number, maxTicks = 8): Tick[] {
  if (!(durationS > 0)) return [];
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const step = steps.find((s) => durationS / s <= maxTicks) ?? 3600 * Math.ceil(durationS / 3600 / maxTicks);
  const out: Tick[] = [];
  for (let t = 0; t <= durationS + 1e-9; t += step) out.push({ left: (t / durationS) * 100, seconds: t });
  return out;
}
