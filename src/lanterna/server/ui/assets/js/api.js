// The REST API (/api/v1): JSON in and out, errors as ApiError, and the bearer token asked once
// (when the server answers 401) and kept in sessionStorage for this tab.

import { h } from "./dom.js";

const TOKEN_KEY = "lanterna.token";
const PREFIX = "api/v1";
let asking = null;

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || String(status);
    this.position = Number.isInteger(error.position) ? error.position : null;
  }
}

export const stats = { requests: 0, bytes: 0 };

export async function api(path, { method = "GET", params = null, body = undefined } = {}) {
  let url = `${PREFIX}/${path}`;
  if (params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value === null || value === undefined || value === "") continue;
      for (const item of Array.isArray(value) ? value : [value]) query.append(key, String(item));
    }
    const text = query.toString();
    if (text) url += "?" + text;
  }
  for (let attempt = 0; ; attempt++) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    stats.requests += 1;
    if (response.status === 401 && attempt < 3) {
      if (token) sessionStorage.removeItem(TOKEN_KEY);
      await askToken(Boolean(token));
      continue;
    }
    const text = await response.text();
    stats.bytes += text.length;
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }
}

/** One prompt at a time, however many requests were refused. */
function askToken(wasWrong) {
  if (!asking) {
    asking = new Promise((resolve) => {
      const input = h("input", { type: "password", autocomplete: "off", id: "token-input",
        placeholder: "token", "aria-label": "Server token" });
      const form = h("form.token-form", null,
        h("h2", { text: "This server needs a token" }),
        h("p", { text: wasWrong ? "That token was refused; try again." :
          "Enter the token the server was started with. It is kept for this tab only." }),
        input,
        h("button.primary", { type: "submit", text: "Continue" }));
      const dialog = h("div.modal", { role: "dialog", "aria-modal": "true" }, form);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (!input.value) return;
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        dialog.remove();
        asking = null;
        resolve();
      });
      document.body.append(dialog);
      input.focus();
    });
  }
  return asking;
}
