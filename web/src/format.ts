// Formatting the numbers a coach reads: clock times, shares, wait times, time left.

/** 7.24 → "0:07.2"; 83 → "1:23.0"; 3725 → "1:02:05.0". */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const tenths = Math.round(seconds * 10);
  const h = Math.floor(tenths / 36000);
  const m = Math.floor((tenths % 36000) / 600);
  const s = (tenths % 600) / 10;
  const sec = s.toFixed(1).padStart(4, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** 0.6 → "60%"; null → "–". */
export function percent(share: number | null | undefined): string {
  return share == null || !Number.isFinite(share) ? "–" : `${Math.round(share * 100)}%`;
}

/** A wait time: 3.5 → "3.5 s"; null (the recording ended) → "no reply before the end". */
export function waitTime(seconds: number | null | undefined): string {
  return seconds == null ? "not measured (end of recording)" : `${seconds.toFixed(1)} s`;
}

/** A time left, rounded the way people say it: 8 → "about 10 s"; 95 → "about 2 min". */
export function timeLeft(seconds: number | null): string {
  if (seconds == null || !Number.isFinite(seconds)) return "estimating…";
  if (seconds < 1) return "almost done";
  if (seconds < 60) return `about ${Math.max(5, Math.ceil(seconds / 5) * 5)} s`;
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min`;
  return `about ${(seconds / 3600).toFixed(1)} h`;
}

/** Time left from how far the work got (0–1) in how long: linear, and none before any progress. */
export function estimateSecondsLeft(progress: number, elapsedSeconds: number): number | null {
  if (!(progress > 0.02) || elapsedSeconds <= 0) return null;
  if (progress >= 1) return 0;
  return (elapsedSeconds * (1 - progress)) / progress;
}

/** 1536 → "1.5 KB"; bytes as people read them. */
export function bytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}
