// Trends: an educator's or a classroom's question metrics across their analysed videos,
// one chart per metric (Chart.js, bundled) with a sentence describing it, and a table
// holding every value (what a screen reader or a keyboard reads). The results store
// computes the points (GET /api/v1/trends); this page only draws them.
import { CategoryScale, Chart, LinearScale, LineController, LineElement, PointElement, Tooltip } from "chart.js";
import type { ApiClient, Trend, TrendBy, TrendSubjects } from "./api.js";
import { h, replace } from "./dom.js";
import { percent } from "./format.js";
import { describeTrend, pointLabel, TREND_METRICS } from "./trenddata.js";

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip);

const COLOURS = ["#1f6feb", "#b35900", "#1a7f37"];

export async function trendsPage(main: HTMLElement, api: ApiClient, signal: AbortSignal,
                                 onError: (e: unknown) => HTMLElement): Promise<void> {
  document.title = "Trends · Classroom questions";
  replace(main, h("p", { role: "status" }, "Loading the educators and classrooms…"));
  let subjects: TrendSubjects;
  try {
    subjects = await api.trendSubjects();
  } catch (error) {
    replace(main, h("h1", {}, "Trends"), onError(error));
    return;
  }
  const charts: Chart[] = [];
  signal.addEventListener("abort", () => charts.forEach((c) => c.destroy()));
  const out = h("div", { "aria-live": "polite" });
  const by = h("select", { id: "trend-by", name: "trend-by" },
    h("option", { value: "educator" }, "Educator"), h("option", { value: "classroom" }, "Classroom"));
  const key = h("select", { id: "trend-key", name: "trend-key" });
  const fillKeys = () => {
    const names = by.value === "classroom" ? subjects.classrooms : subjects.educators;
    replace(key, names.map((name) => h("option", { value: name }, name)));
    key.disabled = !names.length;
  };
  const show = async () => {
    charts.splice(0).forEach((c) => c.destroy());
    if (!key.value) {
      replace(out, h("p", {}, `No ${by.value === "classroom" ? "classroom" : "educator"} named yet: ` +
        "give one when uploading a recording."));
      return;
    }
    replace(out, h("p", { role: "status" }, "Loading the trend…"));
    try {
      const trend = await api.trend(by.value as TrendBy, key.value);
      if (!signal.aborted) render(trend);
    } catch (error) {
      replace(out, onError(error));
    }
  };
  const render = (trend: Trend) => {
    const who = `${trend.by === "classroom" ? "Classroom" : "Educator"} ${trend.key}`;
    if (!trend.points.length) {
      replace(out, h("p", {}, `${who} has no analysed videos yet.`));
      return;
    }
    const drawings: (() => Chart)[] = [];
    const figures = TREND_METRICS.map((metric, n) => {
      const description = describeTrend(metric, trend.points);
      const canvas = h("canvas", { role: "img", "aria-label": `${who}: ${description}` });
      const figure = h("figure", { class: "trend-chart", "data-metric": metric.key },
        h("div", { class: "chart-box" }, canvas), h("figcaption", {}, description));
      drawings.push(() => new Chart(canvas, {
        type: "line",
        data: { labels: trend.points.map(pointLabel),
                datasets: [{ label: metric.title, data: trend.points.map(metric.value), borderColor: COLOURS[n],
                             backgroundColor: COLOURS[n], spanGaps: true, pointRadius: 4 }] },
        options: { animation: false, responsive: true, maintainAspectRatio: false,
                   scales: { y: { beginAtZero: true, title: { display: true, text: metric.title } } } },
      }));
      return figure;
    });
    replace(out,
      h("h2", {}, `${who}: ${trend.points.length} analysed video${trend.points.length === 1 ? "" : "s"}`),
      h("div", { class: "trend-charts" }, figures),
      h("table", { class: "results trend-table" },
        h("caption", {}, `${who}, by recording date`),
        h("thead", {}, h("tr", {}, ["Recorded on", "Video", "Questions", "OEQ share", "Mean wait time",
          "Questions per minute", "Answered by a child"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, trend.points.map((p) => h("tr", {},
          h("td", {}, p.recorded_on),
          h("td", {}, h("a", { href: `#/videos/${p.video_id}` }, p.title || p.filename)),
          h("td", {}, String(p.question_count)),
          ...TREND_METRICS.map((metric) => h("td", {}, metric.text(p))),
          h("td", {}, percent(p.answered_ratio)))))));
    charts.push(...drawings.map((draw) => draw()));  // once the canvases are in the page, so they take its size
  };
  by.addEventListener("change", () => { fillKeys(); void show(); });
  key.addEventListener("change", () => void show());
  fillKeys();
  replace(main,
    h("section", { class: "card" },
      h("h1", {}, "Trends"),
      h("p", { class: "hint" }, "Question metrics across the analysed videos of one educator or classroom, " +
        "as named at upload, oldest recording first."),
      h("div", { class: "fields" },
        h("div", { class: "field" }, h("label", { for: "trend-by" }, "Trend of"), by),
        h("div", { class: "field" }, h("label", { for: "trend-key" }, "Name"), key)),
      out));
  await show();
}
