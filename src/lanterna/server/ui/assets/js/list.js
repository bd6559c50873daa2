// The trace list: the filter box (errors shown at their token), sortable columns, keyset paging
// ("Load more" follows next_page_token), new traces appearing live, selection to compare or
// delete.

import { api, ApiError } from "./api.js";
import { h, clear } from "./dom.js";
import * as fmt from "./format.js";

const PAGE = 50;
const POLL_MS = 3000;
const SORTABLE = {
  time: "timestamp_ms", name: "name", state: "state", duration: "execution_time_ms",
};
const COLUMNS = [
  ["select", ""], ["time", "Time"], ["name", "Name"], ["state", "State"],
  ["duration", "Duration"], ["tokens", "Tokens"], ["request", "Request"],
  ["response", "Response"], ["tags", "Tags"], ["session", "Session"], ["user", "User"],
];

export class ListView {
  constructor(root, parsed, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.rows = new Map(); // trace_id -> {tr, info}
    this.selected = new Set();
    this.focusIndex = -1;
    this.build();
    this.update(parsed, true);
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  destroy() {
    clearInterval(this.timer);
    this.destroyed = true;
  }

  build() {
    this.input = h("input.filter-input", {
      type: "search", spellcheck: false, autocomplete: "off", "data-search": "",
      "aria-label": "Filter traces",
      placeholder: "Filter, e.g. trace.status = 'ERROR' OR (tag.env = 'prod' AND NOT span.type = 'TOOL')",
    });
    const form = h("form.filter-bar", null, this.input,
      h("button.primary", { type: "submit", text: "Search" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.navigate({ filter: this.input.value.trim() });
    });
    this.input.addEventListener("input", () => this.errorBox.replaceChildren());
    this.errorBox = h("div.filter-error", { role: "alert", "aria-live": "polite" });
    this.status = h("span.list-status");
    this.compareButton = h("button", { type: "button", text: "Compare", disabled: true,
      onclick: () => this.compare() });
    this.deleteButton = h("button.danger", { type: "button", text: "Delete", disabled: true,
      onclick: () => this.confirmDelete() });
    this.confirmBox = h("span.confirm");
    const actions = h("div.list-actions", null, this.status, h("span.spacer"),
      this.confirmBox, this.compareButton, this.deleteButton);
    this.head = h("tr");
    this.body = h("tbody");
    this.table = h("table.traces", null, h("thead", null, this.head), this.body);
    this.more = h("button.more", { type: "button", text: "Load more", hidden: true,
      onclick: () => this.load(false) });
    this.view = h("div.list-view", null, form, this.errorBox, actions,
      h("div.table-wrap", null, this.table), this.more);
    this.root.append(this.view);
  }

  /** Re-render for new params; returns true (the view handles every list URL itself). */
  update(parsed, first = false) {
    const params = parsed.params;
    const state = {
      exp: params.get("exp") || this.ctx.experimentId(),
      filter: params.get("filter") || "",
      order: params.get("order") || "timestamp_ms DESC",
    };
    if (!first && JSON.stringify(state) === JSON.stringify(this.state)) return true;
    this.state = state;
    this.input.value = state.filter;
    this.renderHead();
    this.load(true);
    return true;
  }

  navigate(changes) {
    const next = { ...this.state, ...changes };
    location.hash = this.ctx.link("traces", null, {
      exp: next.exp, filter: next.filter,
      order: next.order === "timestamp_ms DESC" ? "" : next.order,
    });
  }

  renderHead() {
    const [key, dir] = this.state.order.split(" ");
    clear(this.head).append(...COLUMNS.map(([id, label]) => {
      if (id === "select") {
        const all = h("input", { type: "checkbox", "aria-label": "Select all",
          onchange: () => this.selectAll(all.checked) });
        return h("th.select", null, all);
      }
      const th = h(`th.col-${id}`, { text: label });
      if (SORTABLE[id]) {
        th.classList.add("sortable");
        th.tabIndex = 0;
        if (SORTABLE[id] === key) {
          th.classList.add(dir === "ASC" ? "asc" : "desc");
          th.setAttribute("aria-sort", dir === "ASC" ? "ascending" : "descending");
        }
        const sort = () => {
          const flip = SORTABLE[id] === key && dir === "DESC" ? "ASC" : "DESC";
          this.navigate({ order: `${SORTABLE[id]} ${flip}` });
        };
        th.addEventListener("click", sort);
        th.addEventListener("keydown", (e) => { if (e.key === "Enter") sort(); });
      }
      return th;
    }));
  }

  query(token) {
    return {
      experiment_id: this.state.exp, filter: this.state.filter, order_by: this.state.order,
      max_results: PAGE, page_token: token, include_spans: "false",
    };
  }

  async load(fresh) {
    const generation = fresh ? (this.generation = (this.generation || 0) + 1) : this.generation;
    if (fresh) this.status.textContent = "Loading…";
    let data;
    try {
      data = await api("traces", { params: this.query(fresh ? null : this.token) });
    } catch (error) {
      if (generation !== this.generation || this.destroyed) return;
      this.showError(error);
      this.settled(true);
      return;
    }
    if (generation !== this.generation || this.destroyed) return;
    this.errorBox.replaceChildren();
    if (fresh) {
      this.rows.clear();
      this.selected.clear();
      clear(this.body);
      this.focusIndex = -1;
    }
    for (const trace of data.traces) this.addRow(trace.info, false);
    this.token = data.next_page_token;
    this.more.hidden = !this.token;
    this.updateStatus();
    this.settled(false);
    if (fresh && generation === 1) performance.mark("lanterna:list");
  }

  /** Notes on the page which filter its rows answer (tests and benchmarks wait for it). */
  settled(failed) {
    this.view.dataset.filter = this.state.filter;
    this.view.dataset.order = this.state.order;
    this.view.dataset.state = failed ? "error" : "ok";
  }

  /** Live: new traces at the top (newest-first order), changed ones updated in place. */
  async poll() {
    if (document.hidden || this.destroyed || !this.state) return;
    let data;
    try {
      data = await api("traces", { params: this.query(null) });
    } catch {
      return;
    }
    if (this.destroyed) return;
    const newestFirst = this.state.order === "timestamp_ms DESC";
    const fresh = [];
    for (const trace of data.traces) {
      const known = this.rows.get(trace.info.trace_id);
      if (known) this.replaceRow(known, trace.info);
      else if (newestFirst) fresh.push(trace.info);
    }
    for (const info of fresh.reverse()) this.addRow(info, true);
    if (fresh.length) this.updateStatus();
  }

  showError(error) {
    const box = clear(this.errorBox);
    if (error instanceof ApiError && error.position !== null) {
      const source = this.state.filter;
      const at = Math.min(error.position, source.length);
      const end = tokenEnd(source, at);
      box.append(h("div.filter-echo", null,
        source.slice(0, at),
        h("mark.bad-token", { text: source.slice(at, end) || " " }),
        source.slice(end)),
      h("div.filter-message", { text: error.message }));
      this.input.focus();
      this.input.setSelectionRange(at, end);
    } else {
      box.append(h("div.filter-message", { text: error.message }));
    }
    clear(this.body);
    this.rows.clear();
    this.more.hidden = true;
    this.status.textContent = "";
  }

  addRow(info, atTop) {
    const row = { info, tr: null, check: null };
    row.tr = this.renderRow(row);
    this.rows.set(info.trace_id, row);
    if (atTop) {
      this.body.prepend(row.tr);
      row.tr.classList.add("new");
      setTimeout(() => row.tr.classList.remove("new"), 2500);
      if (this.focusIndex >= 0) this.focusIndex += 1;
    } else {
      this.body.append(row.tr);
    }
  }

  replaceRow(row, info) {
    if (JSON.stringify(row.info) === JSON.stringify(info)) return;
    row.info = info;
    const tr = this.renderRow(row);
    row.tr.replaceWith(tr);
    row.tr = tr;
  }

  renderRow(row) {
    const info = row.info;
    const meta = info.trace_metadata || {};
    const tags = info.tags || {};
    const usage = fmt.tokenUsage(meta["mlflow.trace.tokenUsage"]);
    const name = tags["mlflow.traceName"] || "(unnamed)";
    row.check = h("input", { type: "checkbox", "aria-label": `Select ${name}`,
      checked: this.selected.has(info.trace_id),
      onclick: (e) => e.stopPropagation(),
      onchange: () => this.toggleSelect(info.trace_id, row.check.checked) });
    const userTags = Object.entries(tags).filter(([k]) => !k.startsWith("mlflow."));
    const href = this.ctx.link("trace", info.trace_id, { exp: this.state.exp });
    const tr = h("tr", { dataset: { traceId: info.trace_id }, title: info.trace_id },
      h("td.select", null, row.check),
      h("td.col-time", { text: fmt.time(info.request_time) }),
      h("td.col-name", null, h("a", { href, text: name })),
      h("td.col-state", null, h(`span.state.state-${String(info.state).toLowerCase()}`,
        { text: info.state })),
      h("td.col-duration.num", { text: info.state === "IN_PROGRESS" && !info.execution_duration_ms ?
        "running" : fmt.duration(info.execution_duration_ms) }),
      h("td.col-tokens.num", { text: usage ? String(usage.total) : "—",
        title: usage ? fmt.tokensText(usage) : "" }),
      h("td.col-request.preview", { text: fmt.shorten(info.request_preview, 120) }),
      h("td.col-response.preview", { text: fmt.shorten(info.response_preview, 120) }),
      h("td.col-tags", null, userTags.slice(0, 4).map(([k, v]) =>
        h("span.chip", { text: `${k}=${fmt.shorten(v, 40)}` })),
        userTags.length > 4 ? h("span.chip.more", { text: `+${userTags.length - 4}` }) : null),
      h("td.col-session", { text: fmt.shorten(meta[fmt.SESSION_KEY] || "", 40) }),
      h("td.col-user", { text: fmt.shorten(meta[fmt.USER_KEY] || "", 40) }));
    tr.addEventListener("click", () => { location.hash = href; });
    return tr;
  }

  updateStatus() {
    const count = this.rows.size;
    this.status.textContent = count === 0 ? "No traces match." :
      `${count} trace${count === 1 ? "" : "s"} shown${this.token ? " (more below)" : ""}` +
      " · updating live";
    const n = this.selected.size;
    this.compareButton.disabled = n < 2;
    this.deleteButton.disabled = n < 1;
    this.compareButton.textContent = n >= 2 ? `Compare ${n}` : "Compare";
    this.deleteButton.textContent = n >= 1 ? `Delete ${n}` : "Delete";
  }

  toggleSelect(id, yes) {
    if (yes) this.selected.add(id); else this.selected.delete(id);
    this.updateStatus();
  }

  selectAll(yes) {
    for (const [id, row] of this.rows) {
      row.check.checked = yes;
      if (yes) this.selected.add(id); else this.selected.delete(id);
    }
    this.updateStatus();
  }

  compare() {
    location.hash = this.ctx.link("compare", null, {
      exp: this.state.exp, ids: [...this.selected].slice(0, 6).join(","),
    });
  }

  /** An in-page confirmation (no window.confirm: the page never opens dialogs). */
  confirmDelete() {
    const ids = [...this.selected];
    const box = clear(this.confirmBox);
    box.append(`Delete ${ids.length} trace${ids.length === 1 ? "" : "s"}? `,
      h("button.danger", { type: "button", text: "Yes, delete", onclick: async () => {
        clear(box);
        try {
          const result = await api("traces/delete", { method: "POST",
            body: { experiment_id: this.state.exp, trace_ids: ids } });
          this.status.textContent = `Deleted ${result.deleted}.`;
          this.load(true);
        } catch (error) {
          box.append(h("span.error", { text: error.message }));
        }
      } }),
      h("button", { type: "button", text: "Cancel", onclick: () => clear(box) }));
  }

  onKey(event) {
    const trs = [...this.body.children];
    if (!trs.length) return;
    const key = event.key;
    if (key === "j" || key === "ArrowDown" || key === "k" || key === "ArrowUp") {
      event.preventDefault();
      const step = key === "j" || key === "ArrowDown" ? 1 : -1;
      this.focusIndex = Math.max(0, Math.min(trs.length - 1, this.focusIndex + step));
      trs.forEach((tr, i) => tr.classList.toggle("focused", i === this.focusIndex));
      trs[this.focusIndex].scrollIntoView({ block: "nearest" });
    } else if (key === "Enter" && this.focusIndex >= 0) {
      trs[this.focusIndex].click();
    } else if (key === "x" && this.focusIndex >= 0) {
      const row = this.rows.get(trs[this.focusIndex].dataset.traceId);
      row.check.checked = !row.check.checked;
      this.toggleSelect(row.info.trace_id, row.check.checked);
    }
  }
}

/** Where the token starting at `at` ends: a quoted string, a word, or one character. */
export function tokenEnd(source, at) {
  const rest = source.slice(at);
  const match = /^('(?:[^'\\]|\\.|'')*'?|"(?:[^"\\]|\\.|"")*"?|`[^`]*`?|[\w.`]+|[<>!=]=?|\S)/s
    .exec(rest);
  return at + (match ? match[0].length : 0);
}
