// The selected span: what the skeleton already knows at once, then its content fetched on
// demand (GET /traces/{id}/spans?span_id=): chat view, retrieved documents, inputs, outputs,
// token usage, events with stack traces, status and attributes.

import { api } from "./api.js";
import { h, clear, copyButton, section, emptyNote } from "./dom.js";
import * as fmt from "./format.js";
import { jsonBlock, longText } from "./json.js";
import { chatMessages, renderChat } from "./chat.js";
import { typeColour, ERROR_COLOUR } from "./timeline.js";

const CACHE = 300;
const SHOWN_ELSEWHERE = new Set([
  "mlflow.spanInputs", "mlflow.spanOutputs", "mlflow.spanType", "mlflow.traceRequestId",
]);
const CHAT_TYPES = new Set(["CHAT_MODEL", "LLM"]);

export class SpanDetail {
  constructor(root, { traceId }) {
    this.root = root;
    this.traceId = traceId;
    this.cache = new Map();
    this.timer = 0;
    this.current = null;
    root.append(emptyNote("Select a span to see its inputs, outputs and attributes."));
  }

  destroy() {
    clearTimeout(this.timer);
    this.current = null;
  }

  show(tree, i) {
    const id = tree.ids[i];
    this.current = id;
    this.tree = tree;
    this.index = i;
    clear(this.root).append(this.header(tree, i));
    this.body = h("div.detail-body", null, h("p.loading", { text: "Loading span…" }));
    this.root.append(this.body);
    this.root.scrollTop = 0;
    clearTimeout(this.timer);
    const cached = this.cache.get(id);
    if (cached) { this.render(cached); return; }
    // Holding j/k moves fast: fetch once the selection settles.
    this.timer = setTimeout(() => this.fetch(id), 60);
  }

  refreshIfOpen(id) {
    if (this.current !== id) return;
    this.cache.delete(id);
    const i = this.tree && this.tree.index.get(id);
    this.fetch(id, true);
    return i;
  }

  async fetch(id, quiet = false) {
    let data;
    try {
      data = await api(`traces/${encodeURIComponent(this.traceId)}/spans`, { params: { span_id: id } });
    } catch (error) {
      if (this.current === id && !quiet) clear(this.body).append(h("p.error", { text: error.message }));
      return;
    }
    const span = (data.spans || [])[0];
    if (!span) {
      if (this.current === id && !quiet) clear(this.body).append(emptyNote("This span's content is not stored yet."));
      return;
    }
    if (span.end_time_unix_nano) {
      this.cache.set(id, span);
      if (this.cache.size > CACHE) this.cache.delete(this.cache.keys().next().value);
    }
    if (this.current === id) this.render(span);
  }

  header(tree, i) {
    const status = tree.status[i];
    const type = tree.types[i] || "UNKNOWN";
    const badge = h("span.badge", { text: type });
    badge.style.setProperty("--type", status === "ERROR" ? ERROR_COLOUR : typeColour(type));
    const parent = tree.parent[i];
    return h("div.detail-head", null,
      h("div.detail-title", null, badge, h("h2.span-name", { text: tree.names[i] })),
      h("div.facts", null,
        h("span.fact", null, h(`span.state.state-${String(status).toLowerCase()}`, { text: status })),
        h("span.fact", null, h("span.label", { text: "Duration" }),
          h("span.value", { text: fmt.nsDuration(tree.duration(i)) })),
        h("span.fact", null, h("span.label", { text: "Starts at" }),
          h("span.value", { text: `+${fmt.duration(tree.start[i] / 1e6)}` })),
        h("span.fact", null, h("span.label", { text: "Span" }),
          h("span.value.mono", { text: tree.ids[i] }), copyButton(tree.ids[i], "Copy id")),
        parent >= 0 ? h("span.fact", null, h("span.label", { text: "Parent" }),
          h("span.value", { text: tree.names[parent] })) : null,
        h("span.fact", null, copyButton(() => new URL(location.href).href, "Copy link"))));
  }

  render(span) {
    const attributes = {};
    for (const [key, value] of Object.entries(span.attributes || {})) attributes[key] = fmt.decode(value);
    const type = attributes["mlflow.spanType"] || this.tree.types[this.index];
    const inputs = attributes["mlflow.spanInputs"];
    const outputs = attributes["mlflow.spanOutputs"];
    const parts = [];
    const usage = fmt.tokenUsage(attributes["mlflow.chat.tokenUsage"]);
    if (usage) {
      parts.push(h("div.tokens", null, h("span.label", { text: "Tokens" }),
        h("span.chip", { text: `${usage.total} total` }),
        usage.input !== undefined ? h("span.chip", { text: `${usage.input} input` }) : null,
        usage.output !== undefined ? h("span.chip", { text: `${usage.output} output` }) : null));
    }
    const status = span.status || {};
    if (status.message) {
      parts.push(h("div.status-message", null, h("span.label", { text: "Status message" }),
        longText(String(status.message))));
    }
    const exceptions = (span.events || []).filter((e) => e.name === "exception");
    for (const event of exceptions) parts.push(exceptionBlock(event));
    const messages = (CHAT_TYPES.has(type) || attributes["mlflow.chat.messages"]) ?
      chatMessages(inputs, outputs) : null;
    if (messages && messages.length) {
      parts.push(section(`Chat (${messages.length} message${messages.length === 1 ? "" : "s"})`,
        () => renderChat(messages), { className: "chat-section" }));
    }
    const documents = documentsOf(outputs);
    if (documents) {
      parts.push(section(`Documents (${documents.length})`, () => renderDocuments(documents),
        { className: "documents-section" }));
    }
    parts.push(section("Inputs", () => valueView(inputs), { open: !messages }));
    parts.push(section("Outputs", () => valueView(outputs), { open: !messages && !documents }));
    const events = span.events || [];
    if (events.length) {
      parts.push(section(`Events (${events.length})`, () => h("div.events", null,
        events.map((e) => eventView(e, span.start_time_unix_nano))), { open: events.length <= 20 }));
    }
    const shown = Object.entries(attributes).filter(([k]) => !SHOWN_ELSEWHERE.has(k));
    parts.push(section(`Attributes (${shown.length})`, () => attributeTable(shown)));
    clear(this.body).append(...parts);
  }
}

function valueView(value) {
  if (value === undefined) return emptyNote("None recorded.");
  if (typeof value === "string") return h("div.json-block", null,
    h("div.json-tools", null, copyButton(value)), longText(value, "plain"));
  return jsonBlock(value);
}

function exceptionBlock(event) {
  const a = event.attributes || {};
  const kind = fmt.decode(a["exception.type"]) ?? "Exception";
  const message = fmt.decode(a["exception.message"]) ?? "";
  const stack = fmt.decode(a["exception.stacktrace"]);
  return h("div.exception", { role: "group", "aria-label": "Exception" },
    h("div.exception-head", null, h("span.exception-type", { text: String(kind) }),
      h("span.exception-message", { text: String(message) })),
    stack ? h("div.stack-wrap", null, copyButton(String(stack), "Copy stack trace"),
      h("pre.stacktrace", { text: String(stack) })) : null);
}

function eventView(event, spanStart) {
  const at = event.time_unix_nano && spanStart ?
    `+${fmt.duration((Number(event.time_unix_nano) - Number(spanStart)) / 1e6)}` : "";
  const attributes = Object.entries(event.attributes || {}).map(([k, v]) => [k, fmt.decode(v)]);
  return h("div.event", null, h("div.event-head", null, h("span.event-name", { text: event.name }),
    h("span.muted", { text: at })), attributes.length ? attributeTable(attributes) : null);
}

function attributeTable(entries) {
  if (!entries.length) return emptyNote("No attributes.");
  return h("table.attributes", null, h("tbody", null, entries.map(([key, value]) =>
    h("tr", null, h("th", { text: key }), h("td", null,
      value !== null && typeof value === "object" ? jsonBlock(value) :
        longText(String(value), "plain"))))));
}

/** Retrieved documents: a list of objects with page_content (or content/text). */
export function documentsOf(outputs) {
  const list = Array.isArray(outputs) ? outputs :
    (outputs && Array.isArray(outputs.documents) ? outputs.documents : null);
  if (!list || !list.length) return null;
  const docs = list.filter((d) => d && typeof d === "object" &&
    ["page_content", "content", "text"].some((k) => typeof d[k] === "string"));
  return docs.length === list.length ? docs : null;
}

function renderDocuments(documents) {
  return h("div.documents", null, documents.map((doc, n) => {
    const meta = doc.metadata && typeof doc.metadata === "object" ? doc.metadata : {};
    const content = doc.page_content ?? doc.content ?? doc.text ?? "";
    const source = meta.doc_uri ?? meta.source ?? meta.url ?? meta.uri ?? doc.id ?? "";
    const score = meta.score ?? doc.score ?? meta.relevance_score;
    const rest = Object.entries(meta).filter(([k]) =>
      !["doc_uri", "source", "url", "uri", "score", "relevance_score"].includes(k));
    return h("article.doc-card", null,
      h("div.doc-head", null, h("span.doc-rank", { text: `#${n + 1}` }),
        h("span.doc-source", { text: String(source), title: String(source) }),
        score !== undefined && score !== null ? h("span.chip.score", {
          text: `score ${typeof score === "number" ? score.toFixed(3) : String(score)}` }) : null,
        doc.id ? h("span.msg-ref", { text: String(doc.id) }) : null),
      longText(String(content), "doc-content"),
      rest.length ? h("div.doc-meta", null, rest.map(([k, v]) =>
        h("span.chip", { text: `${k}: ${fmt.shorten(typeof v === "string" ? v : JSON.stringify(v), 80)}` })))
        : null);
  }));
}
