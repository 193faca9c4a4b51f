// The platform's HTTP API, typed. Errors come back as {"error": {"code", "message"}};
// every failure (including a network failure or a body that is not that) becomes an
// ApiError whose message can be shown to a person as it is.

export interface Classification { text: string; label: "OEQ" | "CEQ"; oeq_probability: number }
export interface ClassifyResponse { model_version: string; results: Classification[] }
export interface UploadCreated { video_id: string; upload_url: string; expires_at: string; upload_headers?: Record<string, string> }
export interface VideoStatus {
  video_id: string; status: "queued" | "processing" | "completed" | "failed"; stage: string; progress: number;
  error: string | null; filename: string; duration_s: number | null; created_at: string; updated_at: string;
  chunks_done?: number | null; chunks_total?: number | null;
  title?: string; educator?: string; classroom?: string; recorded_on?: string;
}
/** What the coach says of a recording at upload (all optional; recorded_on is YYYY-MM-DD). */
export interface UploadFields { title?: string; educator?: string; classroom?: string; recorded_on?: string }
export interface MediaUrl { url: string; expires_at: string; content_type: string }
export type TrendBy = "educator" | "classroom";
export interface TrendPoint {
  video_id: string; recorded_on: string; title: string; filename: string; duration_s: number | null;
  question_count: number; oeq_ratio: number | null; mean_wait_time_s: number | null;
  questions_per_minute: number | null; answered_ratio: number | null;
}
export interface Trend { by: TrendBy; key: string; points: TrendPoint[] }
export interface TrendSubjects { educators: string[]; classrooms: string[] }
/** A reviewer's label: the two kinds of question, or "this is no question at all". */
export type FeedbackLabel = "OEQ" | "CEQ" | "NOT_QUESTION";
export interface Question {
  start: number; end: number; text: string; speaker: "educator" | "child"; label: "OEQ" | "CEQ";
  oeq_probability: number; wait_time_s: number | null; answered: boolean; model_version?: string;
}
export interface Metrics {
  question_count: number; oeq_count: number; ceq_count: number; oeq_ratio: number | null;
  questions_per_minute: number | null; mean_wait_time_s: number | null; wait_time_3s_ratio: number | null;
  answered_ratio: number | null;
}
export interface VideoAnalysis {
  video_id: string; tenant_id: string; status: string; duration_s: number; language?: string;
  models: { transcriber?: string; classifier?: string };
  segments: { start: number; end: number; text: string; speaker?: string }[];
  questions: Question[]; metrics: Metrics; summary?: { text?: string };
}
export interface FeedbackCreated { feedback_id: string; label: FeedbackLabel; model_label: string; text: string }

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = "ApiError";
  }
  get signedOut(): boolean { return this.status === 401; }
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** An ApiError from a response that is not ok, whatever its body holds. */
export async function errorFrom(response: Response): Promise<ApiError> {
  let code = `http_${response.status}`;
  let message = `the server answered ${response.status} ${response.statusText}`.trim();
  try {
    const body = await response.json();
    if (body && typeof body.error === "object" && body.error) {
      code = String(body.error.code ?? code);
      message = String(body.error.message ?? message);
    }
  } catch {
    // not JSON (a proxy's page, an empty body): keep the status line
  }
  if (response.status === 401) message = `${message} — please sign in again`;
  return new ApiError(response.status, code, message);
}

export class ApiClient {
  constructor(private readonly token: () => string | null, private readonly fetcher: Fetch = (i, o) => fetch(i, o),
              private readonly base = "/api") {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetcher(`${this.base}${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, "network", `cannot reach the server (${(error as Error).message})`);
    }
    if (!response.ok) throw await errorFrom(response);
    return (await response.json()) as T;
  }

  classify(texts: string[]) { return this.request<ClassifyResponse>("POST", "/v1/classify", { texts }); }
  videos() { return this.request<{ videos: VideoStatus[] }>("GET", "/v1/videos").then((r) => r.videos); }
  createUpload(filename: string, fields: UploadFields = {}) {
    const given = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, (v ?? "").trim()]).filter(([, v]) => v));
    return this.request<UploadCreated>("POST", "/v1/videos", { filename, ...given });
  }
  video(id: string) { return this.request<VideoStatus>("GET", `/v1/videos/${encodeURIComponent(id)}`); }
  analysis(id: string) { return this.request<VideoAnalysis>("GET", `/v1/videos/${encodeURIComponent(id)}/analysis`); }
  media(id: string) { return this.request<MediaUrl>("GET", `/v1/videos/${encodeURIComponent(id)}/media`); }
  trend(by: TrendBy, key: string) {
    return this.request<Trend>("GET", `/v1/trends?${new URLSearchParams({ by, key })}`);
  }
  trendSubjects() { return this.request<TrendSubjects>("GET", "/v1/trends/subjects"); }
  deleteVideo(id: string) { return this.request<{ deleted: boolean }>("DELETE", `/v1/videos/${encodeURIComponent(id)}`); }
  correctLabel(videoId: string, questionIndex: number, label: FeedbackLabel) {
    return this.request<FeedbackCreated>("POST", "/v1/feedback", { video_id: videoId, question_index: questionIndex, label });
  }
}
