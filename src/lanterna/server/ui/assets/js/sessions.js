// Sessions: traces sharing a session id (trace metadata "mlflow.trace.session"), listed, and one
// session read as a conversation, its traces in order.

import { api } from "./api.js";
import { h, clear, copyButton, emptyNote } from "./dom.js";
import * as fmt from "./format.js";

const PAGE = 200;

export class SessionsView {
  constructor(root, parsed, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.exp = parsed.params.get("exp") || ctx.experimentId();
    this.count = 0;
    this.status = h("span.list-status");
    this.body = h("tbody");
    this.more = h("button.more", { type: "button", text: "Load more", hidden: true,
      onclick: () => this.load() });
    root.append(h("div.list-view", null,
      h("div.list-actions", null, h("h1.page-title", { text: "Sessions" }), h("span.spacer"), this.status),
      h("div.table-wrap", null, h("table.traces.sessions", null,
        h("thead", null, h("tr", null, ["Session", "Traces", "First", "Last", "User", "Tokens", "Errors"]
          .map((t) => h("th", { text: t })))), this.body)), this.more));
    this.load();
  }

  destroy() { this.destroyed = true; }

  /** GET /api/v1/sessions: one row per session, the most recently active first. */
  async load() {
    this.status.textContent = "Loading…";
    let data;
    try {
      data = await api("sessions", { params: { experiment_id: this.exp, max_results: PAGE,
        page_token: this.token } });
    } catch (error) {
      this.status.textContent = error.message;
      return;
    }
    if (this.destroyed) return;
    for (const s of data.sessions) {
      const href = this.ctx.link("session", s.session_id, { exp: this.exp });
      const tr = h("tr", null, h("td", null, h("a", { href, text: s.session_id })),
        h("td.num", { text: String(s.trace_count) }),
        h("td", { text: fmt.time(new Date(s.first_timestamp_ms).toISOString()) }),
        h("td", { text: fmt.time(new Date(s.last_timestamp_ms).toISOString()) }),
        h("td", { text: s.user_id || "" }),
        h("td.num", { text: s.total_tokens ? String(s.total_tokens) : "—" }),
        h("td.num", { text: s.error_count ? String(s.error_count) : "" }));
      tr.addEventListener("click", () => { location.hash = href; });
      this.body.append(tr);
      this.count += 1;
    }
    this.token = data.next_page_token;
    this.more.hidden = !this.token;
    this.status.textContent = this.count ?
      `${this.count} session${this.count === 1 ? "" : "s"}${this.token ? " (more below)" : ""}` :
      "No traces carry a session id (set one with update_current_trace(session_id=...)).";
  }
}

function lastUserText(preview) {
  const value = fmt.decode(preview);
  if (value && typeof value === "object") {
    const messages = Array.isArray(value.messages) ? value.messages :
      (Array.isArray(value.input) ? value.input : null);
    if (messages) {
      const user = [...messages].reverse().find((m) => m && m.role === "user");
      if (user) return typeof user.content === "string" ? user.content : JSON.stringify(user.content);
    }
    const values = Object.values(value);
    if (values.length === 1 && typeof values[0] === "string") return values[0];
    return JSON.stringify(value);
  }
  return value === null || value === undefined ? "" : String(value);
}

export class SessionView {
  constructor(root, parsed, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.id = parsed.arg;
    this.exp = parsed.params.get("exp") || ctx.experimentId();
    this.turns = h("div.conversation");
    this.status = h("span.list-status", { text: "Loading…" });
    root.append(h("div.session-view", null,
      h("a.back", { href: ctx.link("sessions", null, { exp: this.exp }), text: "← Sessions" }),
      h("h1.page-title", null, "Session ", h("span.mono", { text: this.id }), copyButton(this.id, "Copy id")),
      this.status, this.turns));
    this.load(null);
  }

  destroy() { this.destroyed = true; }

  async load(token) {
    let data;
    try {
      data = await api("traces", { params: { experiment_id: this.exp,
        filter: "metadata.`mlflow.trace.session` = " + fmt.quote(this.id),
        order_by: "timestamp_ms ASC", max_results: PAGE, page_token: token } });
    } catch (error) {
      this.status.textContent = error.message;
      return;
    }
    if (this.destroyed) return;
    for (const { info } of data.traces) this.turns.append(this.turn(info));
    const count = this.turns.children.length;
    this.status.textContent = `${count} trace${count === 1 ? "" : "s"}, oldest first`;
    if (data.next_page_token) this.load(data.next_page_token);
    if (!count) this.turns.append(emptyNote("No traces in this session."));
  }

  turn(info) {
    const meta = info.trace_metadata || {};
    const usage = fmt.tokenUsage(meta["mlflow.trace.tokenUsage"]);
    const request = lastUserText(meta["mlflow.traceInputs"] ?? info.request_preview);
    const response = fmt.decode(meta["mlflow.traceOutputs"] ?? info.response_preview);
    const answer = typeof response === "string" ? response :
      response?.choices?.[0]?.message?.content ?? JSON.stringify(response ?? "");
    const href = this.ctx.link("trace", info.trace_id, { exp: this.exp });
    return h("div.turn", null,
      h("div.turn-head", null, h("a", { href, text: (info.tags || {})["mlflow.traceName"] || info.trace_id }),
        h("span.muted", { text: fmt.time(info.request_time) }),
        h(`span.state.state-${String(info.state).toLowerCase()}`, { text: info.state }),
        h("span.muted", { text: fmt.duration(info.execution_duration_ms) }),
        usage ? h("span.chip", { text: `${usage.total} tokens` }) : null),
      h("div.msg.role-user", null, h("div.msg-head", null, h("span.role", { text: "user" })),
        h("div.msg-text", { text: fmt.shorten(request, 4000) })),
      h("div.msg.role-assistant", null, h("div.msg-head", null, h("span.role", { text: "assistant" })),
        h("div.msg-text", { text: fmt.shorten(String(answer ?? ""), 4000) })));
  }
}
