// The coaches' app: hash routes (#/videos, #/videos/{id}, #/trends, #/classify), each a page
// rendered into <main>. A page's timers stop when another page is shown.
import "./style.css";
import { ApiClient, ApiError, type VideoStatus } from "./api.js";
import { beginSignIn, completeSignIn, currentSession, loadConfig, signOut, type WebConfig } from "./auth.js";
import { h, replace } from "./dom.js";
import { bytes, estimateSecondsLeft, percent, timeLeft } from "./format.js";
import { reviewPage } from "./review.js";
import type { UploadState } from "./upload.js";
import { badge, localRecordings } from "./widgets.js";

const main = document.getElementById("main")!;
let api = new ApiClient(() => currentSession()?.accessToken ?? null);
let config: WebConfig;
let pageScope = new AbortController();

export function announce(text: string): void {
  const region = document.getElementById("announce")!;
  region.textContent = text;
}

export function errorBox(error: unknown): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  return h("p", { class: "error", role: "alert" }, message);
}

async function start(): Promise<void> {
  try {
    config = await loadConfig();
    if (config.api_base) api = new ApiClient(() => currentSession()?.accessToken ?? null, undefined, config.api_base);
    const params = new URLSearchParams(location.search);
    if (params.has("code") || params.has("error")) {
      const next = await completeSignIn(config, params);
      history.replaceState(null, "", `/${next}`);
    }
  } catch (error) {
    replace(main, h("h1", {}, "Sign in"), errorBox(error));
    return;
  }
  window.addEventListener("hashchange", route);
  route();
}

function route(): void {
  pageScope.abort();
  pageScope = new AbortController();
  const session = currentSession();
  renderChrome(session != null);
  const hash = location.hash || "#/videos";
  if (!session) return signInPage(hash);
  const review = hash.match(/^#\/videos\/([0-9a-f]{32})$/);
  if (review) return void reviewPage(main, api, review[1], pageScope.signal, onApiError);
  if (hash === "#/classify") return classifyPage();
  if (hash === "#/trends") return void trendsPage();
  return videosPage();
}

function renderChrome(signedIn: boolean): void {
  const session = currentSession();
  const here = location.hash || "#/videos";
  const link = (href: string, text: string) =>
    h("a", { href, "aria-current": here === href || (href === "#/videos" && here.startsWith("#/videos/")) ? "page" : null }, text);
  replace(document.getElementById("nav")!, signedIn ? [link("#/videos", "Videos"), link("#/trends", "Trends"), link("#/classify", "Try the classifier")] : []);
  replace(document.getElementById("who")!, session
    ? [h("span", {}, `${session.user} · ${session.tenant}`),
       h("button", { type: "button", class: "link", onclick: () => { signOut(); route(); } }, "Sign out")]
    : []);
}

/** A 401 means the session ended: back to sign-in, keeping where the coach was. */
export function onApiError(error: unknown): HTMLElement {
  if (error instanceof ApiError && error.signedOut) {
    signOut();
    setTimeout(route, 0);
  }
  return errorBox(error);
}

function signInPage(returnTo: string): void {
  document.title = "Sign in · Classroom questions";
  const status = h("p", { role: "status" });
  replace(main,
    h("section", { class: "card narrow" },
      h("h1", {}, "Sign in"),
      h("p", {}, "Sign in with your organisation's account to see its videos. Coaches see only their organisation's recordings."),
      h("button", {
        type: "button", class: "primary",
        onclick: async () => {
          status.textContent = "Going to the sign-in page…";
          try { await beginSignIn(config, returnTo); } catch (error) { replace(status, errorBox(error)); }
        },
      }, "Continue to sign-in"),
      status));
}

// --- try the classifier -----------------------------------------------------------------

function classifyPage(): void {
  document.title = "Try the classifier · Classroom questions";
  const box = h("textarea", { id: "questions", name: "questions", rows: 8, required: true,
    placeholder: "What do you think will happen?\nIs it red?" });
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", {
    onsubmit: async (event: Event) => {
      event.preventDefault();
      const texts = box.value.split("\n").map((t) => t.trim()).filter(Boolean);
      if (!texts.length) return replace(out, errorBox("Type at least one question, one per line."));
      replace(out, h("p", { role: "status" }, "Classifying…"));
      try {
        const answer = await api.classify(texts);
        replace(out,
          h("p", {}, "Model version: ", h("strong", { class: "model-version" }, answer.model_version)),
          h("table", { class: "results" },
            h("caption", {}, `${answer.results.length} questions classified`),
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Question"), h("th", { scope: "col" }, "Label"),
              h("th", { scope: "col" }, "Probability open-ended"))),
            h("tbody", {}, answer.results.map((r) => h("tr", {},
              h("td", {}, r.text), h("td", {}, badge(r.label)), h("td", {}, r.oeq_probability.toFixed(2)))))));
      } catch (error) {
        replace(out, onApiError(error));
      }
    },
  },
    h("label", { for: "questions" }, "Questions"),
    h("p", { class: "hint", id: "questions-hint" }, "One question per line, typed or pasted."),
    box,
    h("button", { type: "submit", class: "primary" }, "Classify"));
  box.setAttribute("aria-describedby", "questions-hint");
  replace(main, h("section", { class: "card" }, h("h1", {}, "Try the classifier"), form, out));
}

// --- videos: upload, progress, list ------------------------------------------------------

/** The storage SDK is most of the bundle: loaded when a coach first uploads, not with every page. */
const uploader = () => import("./upload.js");

const firstSeen = new Map<string, { at: number; progress: number }>();

function videosPage(): void {
  document.title = "Videos · Classroom questions";
  const signal = pageScope.signal;
  const list = h("div", { id: "video-list" }, h("p", {}, "Loading…"));
  const uploadStatus = h("div", { "aria-live": "polite" });
  const bar = h("progress", { id: "upload-progress", max: 1, value: 0, hidden: true });
  const field = (id: string, label: string, type = "text", extra: Record<string, unknown> = {}) =>
    h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, name: id, type, ...extra }));
  const fileInput = h("input", { id: "video-file", name: "video-file", type: "file", accept: "video/*,audio/*", required: true });
  const drop = h("div", { class: "drop" },
    h("label", { for: "video-file" }, "Video file"), fileInput,
    h("p", { class: "hint" }, "Choose a recording, or drop it here. Large files upload in blocks."));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer?.files.length) fileInput.files = e.dataTransfer.files;
  });

  const form = h("form", {
    onsubmit: async (event: Event) => {
      event.preventDefault();
      const file = fileInput.files?.[0];
      if (!file) return replace(uploadStatus, errorBox("Choose a video file first."));
      const value = (id: string) => (form.querySelector(`#${id}`) as HTMLInputElement).value;
      const submit = form.querySelector("button[type=submit]") as HTMLButtonElement;
      submit.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      replace(uploadStatus, h("p", { role: "status" }, `Uploading ${file.name} (${bytes(file.size)})…`));
      try {
        const details = { title: value("title"), educator: value("educator"), classroom: value("classroom"),
          date: value("date") };
        // Stored on the video (lists, trends) and, as before, in the blob's metadata.
        const created = await api.createUpload(file.name, { title: details.title, educator: details.educator,
          classroom: details.classroom, recorded_on: details.date });
        const { startUpload } = await uploader();
        const state = startUpload(created.upload_url, file, details, config);
        await send(state, created.video_id);
      } catch (error) {
        replace(uploadStatus, onApiError(error instanceof Error ? error : new Error(String(error))));
      } finally {
        submit.disabled = false;
      }
    },
  },
    drop,
    h("div", { class: "fields" }, field("title", "Title"), field("educator", "Educator"), field("classroom", "Classroom"),
      field("date", "Recorded on", "date")),
    h("label", { for: "upload-progress", class: "visually-hidden" }, "Upload progress"), bar,
    h("button", { type: "submit", class: "primary" }, "Upload"),
    uploadStatus);

  /** Send (or resume) an upload; after a failure, offer to resume it where it stopped. */
  async function send(state: UploadState, videoId: string): Promise<void> {
    const file = state.file;
    const { sendUpload, UploadInterrupted } = await uploader();
    try {
      await sendUpload(state, config, (loaded) => { bar.value = file.size ? loaded / file.size : 1; }, signal);
    } catch (error) {
      if (!(error instanceof UploadInterrupted)) throw error;
      replace(uploadStatus, errorBox(error), h("button", { type: "button", class: "secondary", onclick: () => {
        replace(uploadStatus, h("p", { role: "status" }, `Resuming ${file.name}…`));
        void send(state, videoId).catch((again) => replace(uploadStatus, onApiError(again)));
      } }, "Resume upload"));
      return;
    }
    bar.value = 1;
    localRecordings.set(videoId, URL.createObjectURL(file));
    replace(uploadStatus, h("p", { role: "status" }, `Uploaded ${file.name}; the analysis has started.`));
    announce(`Uploaded ${file.name}`);
    form.reset();
    await refresh();
  }

  replace(main,
    h("section", { class: "card" }, h("h1", {}, "Videos"), h("h2", {}, "Upload a recording"), form),
    h("section", { class: "card" }, h("h2", {}, "Your organisation's videos"), list));

  let videos: VideoStatus[] = [];
  async function refresh(): Promise<void> {
    try {
      videos = await api.videos();
      renderList();
    } catch (error) {
      replace(list, onApiError(error));
    }
  }
  async function poll(): Promise<void> {
    const running = videos.filter((v) => v.status === "queued" || v.status === "processing");
    if (!running.length) return;
    const fresh = await Promise.all(running.map((v) => api.video(v.video_id).catch(() => v)));
    videos = videos.map((v) => fresh.find((f) => f.video_id === v.video_id) ?? v);
    renderList();
  }
  function renderList(): void {
    if (!videos.length) return replace(list, h("p", {}, "No videos yet: upload one above."));
    replace(list, h("ul", { class: "videos" }, videos.map(videoRow)));
  }
  function videoRow(video: VideoStatus): HTMLElement {
    return h("li", { class: `video ${video.status}`, "data-video-id": video.video_id },
      h("div", { class: "video-head" },
        video.status === "completed"
          ? h("a", { href: `#/videos/${video.video_id}` }, `Review ${video.filename}`)
          : h("span", { class: "name" }, video.filename),
        h("span", { class: "status" }, video.status)),
      videoMeta(video),
      progressLine(video),
      h("button", { type: "button", class: "danger", onclick: () => confirmDelete(video) }, `Delete ${video.filename}`));
  }
  async function confirmDelete(video: VideoStatus): Promise<void> {
    if (!(await confirmDialog(`Delete ${video.filename}?`,
      "The recording, its transcript, questions and metrics are removed for everyone in your organisation. This cannot be undone."))) return;
    try {
      await api.deleteVideo(video.video_id);
      announce(`Deleted ${video.filename}`);
      await refresh();
    } catch (error) {
      replace(uploadStatus, onApiError(error));
    }
  }

  void refresh();
  const timer = setInterval(() => { void poll(); }, 1000);
  signal.addEventListener("abort", () => clearInterval(timer));
}

/** What the coach said at upload: title · educator · classroom · date. */
function videoMeta(video: VideoStatus): HTMLElement | null {
  const parts = [video.title, video.educator, video.classroom, video.recorded_on].filter(Boolean);
  return parts.length ? h("p", { class: "video-meta" }, parts.join(" · ")) : null;
}

// --- trends ------------------------------------------------------------------------------

/** Chart.js comes with the trends page, not with every page. */
async function trendsPage(): Promise<void> {
  replace(main, h("p", { role: "status" }, "Loading…"));
  const signal = pageScope.signal;
  try {
    const { trendsPage: show } = await import("./trends.js");
    if (!signal.aborted) await show(main, api, signal, onApiError);
  } catch (error) {
    replace(main, h("h1", {}, "Trends"), onApiError(error));
  }
}

function progressLine(video: VideoStatus): HTMLElement | null {
  if (video.status === "failed") return h("p", { class: "error" }, `Failed: ${video.error ?? "no reason given"}`);
  if (video.status === "completed") return h("p", { class: "done" }, "Analysis ready");
  const now = Date.now() / 1000;
  const seen = firstSeen.get(video.video_id) ?? { at: now, progress: video.progress };
  firstSeen.set(video.video_id, seen);
  const started = Date.parse(video.created_at) / 1000 || seen.at;
  const left = estimateSecondsLeft(video.progress, now - started);
  const chunks = video.chunks_total ? `, ${video.chunks_done ?? 0} of ${video.chunks_total} chunks transcribed` : "";
  return h("div", { class: "progress-line" },
    h("progress", { max: 1, value: video.progress, "aria-label": `Analysis progress of ${video.filename}` }),
    h("span", { class: "stage" }, `${video.stage}${chunks} · ${percent(video.progress)} · time left ${timeLeft(left)}`));
}

/** A modal confirmation (<dialog>): resolves true only when the coach presses Delete. */
export function confirmDialog(title: string, text: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h("dialog", { "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, title), h("p", {}, text),
      h("form", { method: "dialog", class: "actions" },
        h("button", { value: "cancel", class: "secondary" }, "Cancel"),
        h("button", { value: "delete", class: "danger" }, "Delete")));
    dialog.addEventListener("close", () => { resolve(dialog.returnValue === "delete"); dialog.remove(); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

void start();
