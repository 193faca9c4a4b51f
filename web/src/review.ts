// Reviewing one analysis: player, timeline (a marker per question, wait-time bars,
// children's questions in their own lane), the questions list with label correction,
// the transcript with questions highlighted, metric cards, summary and exports.
import type { ApiClient, FeedbackLabel, Question, VideoAnalysis } from "./api.js";
import { download, h, replace } from "./dom.js";
import { analysisJson, questionsCsv } from "./export.js";
import { clock, percent, waitTime } from "./format.js";
import { badge, localRecordings } from "./widgets.js";
import { layoutTimeline, ticks } from "./timeline.js";

export async function reviewPage(main: HTMLElement, api: ApiClient, videoId: string, _signal: AbortSignal,
                                 onError: (e: unknown) => HTMLElement): Promise<void> {
  document.title = "Review · Classroom questions";
  replace(main, h("p", { role: "status" }, "Loading the analysis…"));
  let analysis: VideoAnalysis;
  try {
    analysis = await api.analysis(videoId);
  } catch (error) {
    replace(main, h("h1", {}, "Review"), onError(error), h("p", {}, h("a", { href: "#/videos" }, "Back to videos")));
    return;
  }
  // The browser's own copy when it uploaded the recording; else a short-lived read-only URL.
  const source = localRecordings.get(videoId) ?? await api.media(videoId).then((m) => m.url, () => null);
  const player = source
    ? h("video", { id: "player", src: source, controls: true, preload: "metadata", "aria-label": "Recording" })
    : null;
  const childQuestions = analysis.questions.filter((q) => q.speaker === "child");
  const seek = (q: Question) => {
    if (player) {
      player.currentTime = q.start;
      player.focus();
    }
  };
  const m = analysis.metrics;
  const card = (label: string, value: string) => h("div", { class: "metric" }, h("span", { class: "value" }, value), h("span", { class: "label" }, label));
  replace(main,
    h("section", { class: "card" },
      h("h1", {}, "Review"),
      h("p", { class: "meta" }, `${clock(analysis.duration_s)} of recording · classifier ${analysis.models.classifier ?? "?"}`),
      h("div", { class: "metrics" },
        card("questions per minute", m.questions_per_minute == null ? "–" : m.questions_per_minute.toFixed(1)),
        card("open-ended (OEQ) share", percent(m.oeq_ratio)),
        card("questions with ≥ 3 s wait time", percent(m.wait_time_3s_ratio)),
        card("answered by a child", percent(m.answered_ratio))),
      analysis.summary?.text ? h("p", { class: "summary" }, analysis.summary.text) : null,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => download(`${videoId}-questions.csv`, "text/csv", questionsCsv(analysis)) }, "Export CSV"),
        h("button", { type: "button", class: "secondary", onclick: () => download(`${videoId}-analysis.json`, "application/json", analysisJson(analysis)) }, "Export JSON"))),
    h("section", { class: "card" },
      h("h2", {}, "Recording and timeline"),
      player ?? h("p", { class: "hint" }, "The recording cannot be played (it is no longer stored); the questions below still give their times."),
      timeline(analysis, seek),
      legend(),
      h("p", { class: "child-questions" }, childQuestions.length
        ? `Children asked ${childQuestions.length} of the ${analysis.questions.length} questions (the Children lane; ` +
          "they do not count towards the educator's OEQ share)."
        : "No questions from children were detected.")),
    h("div", { class: "columns" },
      h("section", { class: "card" }, h("h2", { id: "questions-heading" }, `Questions (${analysis.questions.length})`),
        h("ol", { class: "questions", "aria-labelledby": "questions-heading" },
          analysis.questions.map((q, i) => questionItem(api, analysis, q, i, seek, onError)))),
      h("section", { class: "card" }, h("h2", {}, "Transcript"), transcript(analysis))),
  );
}

function timeline(analysis: VideoAnalysis, seek: (q: Question) => void): HTMLElement {
  const markers = layoutTimeline(analysis.questions, analysis.duration_s);
  const lane = (name: "educator" | "child", title: string) =>
    h("div", { class: `lane ${name}` }, h("span", { class: "lane-name" }, title),
      h("div", { class: "track" }, markers.filter((mk) => mk.lane === name).flatMap((mk) => {
        const q = analysis.questions[mk.index];
        return [
          h("span", { class: "wait", style: { left: `${mk.left + (q.end - q.start) / analysis.duration_s * 100}%`, width: `${mk.waitWidth}%` },
            title: `wait ${waitTime(q.wait_time_s)}`, "aria-hidden": "true" }),
          h("button", { type: "button", class: `marker ${mk.label.toLowerCase()}`, style: { left: `${mk.left}%` },
            "aria-label": `${clock(q.start)} ${mk.label}: ${q.text}`, title: `${clock(q.start)} ${q.text}`,
            onclick: () => seek(q) }, mk.symbol),
        ];
      })));
  return h("div", { class: "timeline", role: "group", "aria-label": "Timeline of questions" },
    lane("educator", "Educator"), lane("child", "Children"),
    h("div", { class: "axis", "aria-hidden": "true" }, ticks(analysis.duration_s).map((t) =>
      h("span", { class: "tick", style: { left: `${t.left}%` } }, clock(t.seconds).replace(/\.0$/, "")))));
}

function legend(): HTMLElement {
  return h("p", { class: "legend" }, h("span", { class: "marker oeq static", "aria-hidden": "true" }, "O"), " open-ended (OEQ)  ",
    h("span", { class: "marker ceq static", "aria-hidden": "true" }, "C"), " closed-ended (CEQ)  ",
    h("span", { class: "wait static", "aria-hidden": "true" }), " wait time after the question");
}

function questionItem(api: ApiClient, analysis: VideoAnalysis, q: Question, index: number,
                      seek: (q: Question) => void, onError: (e: unknown) => HTMLElement): HTMLElement {
  const select = h("select", { id: `label-${index}` },
    h("option", { value: "OEQ", selected: q.label === "OEQ" }, "OEQ (open)"),
    h("option", { value: "CEQ", selected: q.label === "CEQ" }, "CEQ (closed)"),
    h("option", { value: "NOT_QUESTION" }, "Not a question"));
  const labelBox = h("span", { class: "label-box" }, badge(q.label));
  const result = h("span", { "aria-live": "polite", class: "feedback-result" });
  return h("li", { class: `question ${q.label.toLowerCase()}`, "data-index": index },
    h("button", { type: "button", class: "time link", onclick: () => seek(q), "aria-label": `Play from ${clock(q.start)}` }, clock(q.start)),
    h("span", { class: "text" }, q.text),
    labelBox,
    h("span", { class: "wait-time" }, `wait ${waitTime(q.wait_time_s)}`),
    q.speaker === "child" ? h("span", { class: "speaker" }, "asked by a child") : null,
    h("span", { class: "correct" },
      h("label", { for: `label-${index}` }, "Correct label"), select,
      h("button", { type: "button", class: "secondary", onclick: async () => {
        const label = select.value as FeedbackLabel;
        try {
          await api.correctLabel(analysis.video_id, index, label);
          replace(labelBox, label === "NOT_QUESTION" ? h("span", { class: "badge not-question" }, "Not a question") : badge(label),
            label !== q.label ? h("span", { class: "corrected" }, `corrected from ${q.label}`) : null);
          replace(result, "Saved");
        } catch (error) {
          replace(result, onError(error));
        }
      } }, "Save label")),
    result);
}

function transcript(analysis: VideoAnalysis): HTMLElement {
  return h("div", { class: "transcript" }, analysis.segments.map((segment) => {
    const inside = analysis.questions.filter((q) => q.start >= segment.start - 0.05 && q.start < segment.end);
    const parts: (Node | string)[] = [];
    let rest = segment.text;
    for (const q of inside) {
      const at = rest.indexOf(q.text);
      if (at < 0) continue;
      parts.push(rest.slice(0, at), h("mark", { class: q.label.toLowerCase() }, q.text));
      rest = rest.slice(at + q.text.length);
    }
    parts.push(rest);
    return h("p", {}, h("span", { class: "ts" }, clock(segment.start)), " ", ...parts);
  }));
}
