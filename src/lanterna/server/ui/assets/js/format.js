// Turning trace values into short, readable text.

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms === 0) return "< 1 ms"; // stored in whole milliseconds
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function nsDuration(ns) {
  return ns === null || ns === undefined ? "running" : duration(ns / 1e6);
}

export function time(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A JSON string decoded, or the string itself when it is not JSON. */
export function decode(value) {
  if (typeof value !== "string") return value;
  try { return JSON.parse(value); } catch { return value; }
}

export function tokenUsage(value) {
  const usage = decode(value);
  if (!usage || typeof usage !== "object") return null;
  const input = usage.input_tokens ?? usage.prompt_tokens;
  const output = usage.output_tokens ?? usage.completion_tokens;
  let total = usage.total_tokens;
  if (total === undefined && (input !== undefined || output !== undefined)) {
    total = (input || 0) + (output || 0);
  }
  return total === undefined ? null : { input, output, total };
}

export function tokensText(usage) {
  if (!usage) return "—";
  const parts = [];
  if (usage.input !== undefined) parts.push(`${usage.input} in`);
  if (usage.output !== undefined) parts.push(`${usage.output} out`);
  return parts.length ? `${usage.total} (${parts.join(", ")})` : String(usage.total);
}

export function shorten(text, max = 160) {
  const s = text === null || text === undefined ? "" : String(text);
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/** Span ids come as 16 hex digits from the skeleton and as base64 in MLflow's span JSON. */
export function hexId(id) {
  if (!id) return "";
  if (/^[0-9a-f]{16}$|^[0-9a-f]{32}$/i.test(id)) return id.toLowerCase();
  try {
    const bytes = atob(id);
    let hex = "";
    for (let i = 0; i < bytes.length; i++) hex += bytes.charCodeAt(i).toString(16).padStart(2, "0");
    return hex;
  } catch {
    return String(id);
  }
}

/** A filter-language string literal. */
export function quote(value) {
  return "'" + String(value).replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
}

export const SESSION_KEY = "mlflow.trace.session";
export const USER_KEY = "mlflow.trace.user";
