// Traces side by side: their facts and span counts by type.

import { api } from "./api.js";
import { h, clear } from "./dom.js";
import * as fmt from "./format.js";

export class CompareView {
  constructor(root, parsed, ctx) {
    this.exp = parsed.params.get("exp") || "";
    const ids = (parsed.params.get("ids") || "").split(",").filter(Boolean);
    this.table = h("table.compare");
    root.append(h("div.compare-view", null,
      h("a.back", { href: ctx.link("traces", null, { exp: this.exp }), text: "← Traces" }),
      h("h1.page-title", { text: `Comparing ${ids.length} traces` }), h("div.table-wrap", null, this.table)));
    this.load(ids, ctx);
  }

  destroy() {}

  async load(ids, ctx) {
    const skeletons = await Promise.all(ids.map((id) =>
      api(`traces/${encodeURIComponent(id)}/skeleton`).catch((error) => ({ error, trace_id: id }))));
    const rows = [
      ["Name", (s) => h("a", { href: ctx.link("trace", s.trace_id, { exp: this.exp }),
        text: s.info.tags?.["mlflow.traceName"] || s.trace_id })],
      ["Trace id", (s) => s.trace_id],
      ["State", (s) => s.info.state],
      ["Started", (s) => fmt.time(s.info.request_time)],
      ["Duration", (s) => fmt.duration(s.info.execution_duration_ms)],
      ["Tokens", (s) => fmt.tokensText(fmt.tokenUsage(s.info.trace_metadata?.["mlflow.trace.tokenUsage"]))],
      ["Spans", (s) => String(s.span_count)],
      ["Failed spans", (s) => String(s.columns.status.filter((x) => x === "ERROR").length)],
      ["Span types", (s) => {
        const counts = {};
        for (const t of s.columns.span_type) counts[t] = (counts[t] || 0) + 1;
        return Object.entries(counts).sort().map(([t, n]) => `${t} ${n}`).join(", ");
      }],
      ["Request", (s) => fmt.shorten(s.info.request_preview, 400)],
      ["Response", (s) => fmt.shorten(s.info.response_preview, 400)],
      ["Tags", (s) => Object.entries(s.info.tags || {}).filter(([k]) => !k.startsWith("mlflow."))
        .map(([k, v]) => `${k}=${v}`).join(", ")],
    ];
    clear(this.table).append(h("tbody", null, rows.map(([label, cell]) =>
      h("tr", null, h("th", { text: label }), skeletons.map((s) => {
        if (s.error) return h("td.error", { text: label === "Trace id" ? s.trace_id : s.error.message });
        const value = cell(s);
        return h("td", null, value instanceof Node ? value : String(value ?? ""));
      })))));
  }
}
