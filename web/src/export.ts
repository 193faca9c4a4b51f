// Exports of an analysis: CSV (one row per question, for a spreadsheet) and JSON (all of it).
import type { VideoAnalysis } from "./api.js";

const COLUMNS = ["index", "start_s", "end_s", "speaker", "label", "oeq_probability", "wait_time_s", "answered", "text"];

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet does not run it as a formula. */
export function csvCell(value: unknown): string {
  let text = value == null ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text) && typeof value === "string") text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function questionsCsv(analysis: VideoAnalysis): string {
  const rows = analysis.questions.map((q, i) =>
    [i, q.start, q.end, q.speaker, q.label, q.oeq_probability, q.wait_time_s, q.answered, q.text].map(csvCell).join(","));
  return [COLUMNS.join(","), ...rows].join("\r\n") + "\r\n";
}

export function analysisJson(analysis: VideoAnalysis): string {
  return JSON.stringify(analysis, null, 2);
}
