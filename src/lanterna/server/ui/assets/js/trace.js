// The trace view: header, span tree (a virtual list over the skeleton) beside the timeline, and
// the selected span's detail, fetched when it is shown. A trace in progress refreshes until it
// ends; the trace, span and find text live in the URL.

import { api } from "./api.js";
import { h, append, clear, copyButton } from "./dom.js";
import * as fmt from "./format.js";
import { SpanTree } from "./model.js";
import { Timeline, typeColour, ERROR_COLOUR } from "./timeline.js";
import { SpanDetail } from "./detail.js";

const ROW = 24;
const OVERSCAN = 6;
const LIVE_MS = 1500;

export class TraceView {
  constructor(root, parsed, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.traceId = parsed.arg;
    this.exp = parsed.params.get("exp") || "";
    this.tree = null;
    this.collapsed = null;
    this.rows = new Int32Array(0);
    this.selected = -1;
    this.matches = [];
    this.matchAt = -1;
    this.marked = null;
    this.keep = null;
    this.pool = [];
    this.frame = 0;
    this.build();
    this.wantedSpan = parsed.params.get("span");
    this.findInput.value = parsed.params.get("find") || "";
    this.load(true);
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.liveTimer);
    clearTimeout(this.findTimer);
    cancelAnimationFrame(this.frame);
    this.resize.disconnect();
    this.timeline.destroy();
    this.detail.destroy();
  }

  /** Only the span or find text changed: select without rebuilding. */
  update(parsed) {
    if (parsed.arg !== this.traceId) return false;
    const span = parsed.params.get("span");
    if (span && this.tree && this.tree.index.has(span) &&
      this.tree.index.get(span) !== this.selected) {
      this.select(this.tree.index.get(span), { reveal: true });
    }
    return true;
  }

  build() {
    const back = h("a.back", { href: this.ctx.link("traces", null, { exp: this.exp }),
      text: "← Traces" });
    this.title = h("h1.trace-title", { text: "Loading trace…" });
    this.facts = h("div.facts");
    const header = h("div.trace-header", null, back, this.title, this.facts);

    this.findInput = h("input.find", { type: "search", placeholder: "Find span",
      title: "Find spans by name, id or text (Enter: next, Shift+Enter: previous)",
      "aria-label": "Find span", "data-search": "", spellcheck: false });
    this.findCount = h("span.find-count");
    this.findInput.addEventListener("input", () => this.find(false));
    this.findInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.step(event.shiftKey ? -1 : 1);
      }
    });
    this.typeFilter = h("select.type-filter", { "aria-label": "Filter by span type",
      onchange: () => this.applyFilters() }, h("option", { value: "", text: "All types" }));
    this.statusFilter = h("select.status-filter", { "aria-label": "Filter by status",
      onchange: () => this.applyFilters() },
    ...[["", "All statuses"], ["ERROR", "Errors"], ["OK", "OK"], ["UNSET", "Unset"]]
      .map(([value, text]) => h("option", { value, text })));
    const tools = h("div.tree-tools", null, this.findInput, this.findCount,
      h("button.ghost", { type: "button", text: "↑", title: "Previous match (Shift+Enter)",
        onclick: () => this.step(-1) }),
      h("button.ghost", { type: "button", text: "↓", title: "Next match (Enter)",
        onclick: () => this.step(1) }),
      this.typeFilter, this.statusFilter,
      h("button.ghost", { type: "button", text: "Expand", title: "Expand all", onclick: () => this.expandAll(true) }),
      h("button.ghost", { type: "button", text: "Collapse", title: "Collapse all",
        onclick: () => this.expandAll(false) }));

    const overview = h("canvas.overview", { title: "Drag to zoom; double-click to see it all" });
    const axis = h("canvas.axis");
    this.barCanvas = h("canvas.bars");
    this.rowsBox = h("div.rows", { role: "tree", "aria-label": "Spans" });
    this.sticky = h("div.sticky", null, this.rowsBox, this.barCanvas);
    this.spacer = h("div.spacer-rows");
    this.viewport = h("div.viewport", { tabIndex: 0 }, this.sticky, this.spacer);
    const zoom = h("div.zoom", null,
      h("button.ghost", { type: "button", text: "−", title: "Zoom out (-)",
        onclick: () => this.timeline.zoom(1.5) }),
      h("button.ghost", { type: "button", text: "+", title: "Zoom in (+)",
        onclick: () => this.timeline.zoom(1 / 1.5) }),
      h("button.ghost", { type: "button", text: "Fit", title: "See the whole trace (0)",
        onclick: () => this.timeline.reset() }));
    const grid = h("div.span-grid", null,
      h("div.grid-head", null, h("div.head-name", null, zoom), h("div.head-time", null, overview, axis)),
      this.viewport);
    this.notice = h("div.notice", { hidden: true });
    this.left = h("div.trace-left", null, tools, this.notice, grid);
    this.detailBox = h("div.trace-right");
    this.root.append(h("div.trace-view", null, header, h("div.trace-main", null, this.left,
      this.detailBox)));

    this.timeline = new Timeline({ overview, axis, bars: this.barCanvas,
      onChange: () => this.draw() });
    this.detail = new SpanDetail(this.detailBox, { traceId: this.traceId });
    this.viewport.addEventListener("scroll", () => this.draw());
    this.rowsBox.addEventListener("click", (event) => this.onRowClick(event));
    this.barCanvas.addEventListener("click", (event) => {
      if (this.barCanvas.dataset.dragged === "1") return;
      const row = Math.floor((event.offsetY + this.viewport.scrollTop % ROW) / ROW) +
        Math.floor(this.viewport.scrollTop / ROW);
      if (row < this.rows.length) this.select(this.rows[row]);
    });
    this.resize = new ResizeObserver(() => { this.timeline.drawAll(); this.draw(true); });
    this.resize.observe(this.viewport);
  }

  async load(first) {
    let skeleton;
    try {
      skeleton = await api(`traces/${encodeURIComponent(this.traceId)}/skeleton`);
    } catch (error) {
      if (this.destroyed) return;
      if (first) {
        this.title.textContent = error.status === 404 ? "Trace not found" : "Could not load trace";
        this.facts.replaceChildren(h("p.error", { text: error.message }));
        return;
      }
      this.scheduleLive();
      return;
    }
    if (this.destroyed) return;
    if (first) performance.mark("lanterna:skeleton");
    this.setSkeleton(skeleton, first);
    if (first) {
      // For benchmarks and tests: the tree's first rows and the timeline are on screen.
      performance.mark("lanterna:drawn");
      this.root.querySelector(".trace-view").dataset.ready = "1";
    }
    this.scheduleLive();
  }

  scheduleLive() {
    const running = this.info && (this.info.state === "IN_PROGRESS" || this.tree.open > 0);
    clearTimeout(this.liveTimer);
    if (running && !this.destroyed) this.liveTimer = setTimeout(() => this.load(false), LIVE_MS);
  }

  setSkeleton(skeleton, first) {
    const previous = this.tree;
    const selectedId = this.selected >= 0 ? previous.ids[this.selected] : null;
    const collapsedIds = [];
    if (previous) {
      for (let i = 0; i < previous.n; i++) if (this.collapsed[i]) collapsedIds.push(previous.ids[i]);
    }
    const tree = new SpanTree(skeleton);
    this.tree = tree;
    this.info = skeleton.info;
    this.collapsed = new Uint8Array(tree.n);
    for (const id of collapsedIds) {
      const i = tree.index.get(id);
      if (i !== undefined) this.collapsed[i] = 1;
    }
    this.selected = selectedId !== null ? (tree.index.get(selectedId) ?? -1) : -1;
    this.renderHeader();
    this.fillTypes();
    this.timeline.setTree(tree, !first);
    this.computeKeep();
    if (this.findInput.value) this.find(true);
    this.refreshRows();
    this.timeline.drawAll();
    if (first) {
      const wanted = this.wantedSpan && tree.index.get(this.wantedSpan);
      const start = wanted !== undefined && wanted !== null ? wanted :
        (tree.roots.length ? tree.roots[0] : -1);
      if (start >= 0) this.select(start, { reveal: true, silent: !this.wantedSpan });
      this.viewport.focus({ preventScroll: true });
    } else {
      this.draw(true);
      if (this.selected >= 0) this.detail.refreshIfOpen(tree.ids[this.selected]);
    }
  }

  renderHeader() {
    const info = this.info;
    const tags = info.tags || {};
    const meta = info.trace_metadata || {};
    const usage = fmt.tokenUsage(meta["mlflow.trace.tokenUsage"]);
    this.title.textContent = tags["mlflow.traceName"] || "(unnamed trace)";
    const fact = (label, value, extra) => h("span.fact", null, h("span.label", { text: label }),
      h("span.value", { text: value }), extra);
    const state = h(`span.state.state-${String(info.state).toLowerCase()}`, { text: info.state });
    const session = meta[fmt.SESSION_KEY];
    const userTags = Object.entries(tags).filter(([k]) => !k.startsWith("mlflow."));
    append(clear(this.facts), [
      h("span.fact", null, state),
      fact("Trace", info.trace_id, copyButton(info.trace_id, "Copy id")),
      fact("Started", fmt.time(info.request_time)),
      fact("Duration", info.state === "IN_PROGRESS" ? "running" : fmt.duration(info.execution_duration_ms)),
      fact("Spans", `${this.tree.n.toLocaleString()}${this.tree.errors ? ` (${this.tree.errors} failed)` : ""}`),
      fact("Tokens", fmt.tokensText(usage)),
      session ? h("span.fact", null, h("span.label", { text: "Session" }),
        h("a", { href: this.ctx.link("session", session, { exp: this.exp }), text: session })) : null,
      meta[fmt.USER_KEY] ? fact("User", meta[fmt.USER_KEY]) : null,
      userTags.length ? h("span.fact.tags", null, userTags.map(([k, v]) =>
        h("span.chip", { text: `${k}=${fmt.shorten(v, 60)}` }))) : null,
      info.state === "IN_PROGRESS" ? h("span.live", { text: "● live" }) : null]);
    document.title = `${this.title.textContent} · lanterna`;
  }

  fillTypes() {
    const types = new Set(this.tree.types);
    const current = this.typeFilter.value;
    this.typeFilter.replaceChildren(h("option", { value: "", text: "All types" }),
      ...[...types].sort().map((type) => h("option", { value: type, text: type })));
    this.typeFilter.value = types.has(current) ? current : "";
  }

  computeKeep() {
    const type = this.typeFilter.value;
    const status = this.statusFilter.value;
    if (!type && !status) { this.keep = null; return; }
    const t = this.tree;
    const keep = new Uint8Array(t.n);
    let count = 0;
    for (let i = 0; i < t.n; i++) {
      if ((!type || t.types[i] === type) && (!status || t.status[i] === status)) {
        keep[i] = 1;
        count++;
      }
    }
    this.keep = keep;
    this.keepCount = count;
  }

  applyFilters() {
    this.computeKeep();
    this.refreshRows();
    this.draw(true);
    if (this.selected >= 0) this.scrollTo(this.selected);
  }

  refreshRows() {
    this.rows = this.tree.visibleRows(this.collapsed, this.keep);
    this.rowOf = null;
    this.spacer.style.height = `${Math.max(0, this.rows.length * ROW - this.viewport.clientHeight)}px`;
    this.notice.hidden = !this.keep;
    if (this.keep) {
      this.notice.textContent = `${this.keepCount.toLocaleString()} of ${this.tree.n.toLocaleString()} spans match the filters (shown with their parents).`;
    }
  }

  /** Row index of node i (built lazily per row set). */
  rowIndex(i) {
    if (!this.rowOf) {
      this.rowOf = new Int32Array(this.tree.n).fill(-1);
      for (let k = 0; k < this.rows.length; k++) this.rowOf[this.rows[k]] = k;
    }
    return this.rowOf[i];
  }

  draw(now = false) {
    if (now) { cancelAnimationFrame(this.frame); this.frame = 0; this.paint(); return; }
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.paint(); });
  }

  paint() {
    if (!this.tree || this.destroyed) return;
    const height = this.viewport.clientHeight;
    this.spacer.style.height = `${Math.max(0, this.rows.length * ROW - height)}px`;
    const top = this.viewport.scrollTop;
    const first = Math.floor(top / ROW);
    const offset = top - first * ROW;
    const count = Math.min(this.rows.length - first, Math.ceil(height / ROW) + 1);
    while (this.pool.length < Math.max(count, 0)) this.pool.push(this.makeRow());
    for (let k = 0; k < this.pool.length; k++) {
      const el = this.pool[k];
      if (k >= count) { el.root.hidden = true; continue; }
      el.root.hidden = false;
      el.root.style.transform = `translateY(${k * ROW - offset}px)`;
      this.fillRow(el, this.rows[first + k]);
    }
    this.timeline.drawBars(this.rows, first, Math.max(count, 0), ROW, offset, this.selected,
      this.marked);
  }

  makeRow() {
    const toggle = h("span.toggle");
    const badge = h("span.badge");
    const name = h("span.name");
    const depth = h("span.depth");
    const dur = h("span.dur");
    const root = h("div.row", { role: "treeitem" }, toggle, badge, name, depth, dur);
    this.rowsBox.append(root);
    return { root, toggle, badge, name, depth, dur, node: -2 };
  }

  fillRow(el, i) {
    const t = this.tree;
    const d = t.depth[i];
    const indent = Math.min(d, 24) * 14;
    el.root.style.paddingLeft = `${indent + 4}px`;
    const kids = t.childCount(i);
    el.toggle.textContent = kids ? (this.collapsed[i] ? "▸" : "▾") : "";
    el.toggle.title = kids ? `${kids} child span${kids === 1 ? "" : "s"}` : "";
    el.badge.textContent = t.types[i] || "UNKNOWN";
    el.badge.style.setProperty("--type", t.status[i] === "ERROR" ? ERROR_COLOUR : typeColour(t.types[i]));
    el.name.textContent = t.names[i];
    el.depth.textContent = d > 24 ? `depth ${d}` : "";
    el.dur.textContent = fmt.nsDuration(t.duration(i));
    el.root.dataset.node = String(i);
    el.root.dataset.spanId = t.ids[i];
    el.root.classList.toggle("selected", i === this.selected);
    el.root.classList.toggle("error", t.status[i] === "ERROR");
    el.root.classList.toggle("match", Boolean(this.marked && this.marked[i]));
    el.root.setAttribute("aria-selected", String(i === this.selected));
    if (kids) el.root.setAttribute("aria-expanded", String(!this.collapsed[i]));
    else el.root.removeAttribute("aria-expanded");
    el.root.setAttribute("aria-level", String(d + 1));
  }

  onRowClick(event) {
    const row = event.target.closest(".row");
    if (!row) return;
    const i = Number(row.dataset.node);
    if (event.target.classList.contains("toggle") && this.tree.childCount(i)) {
      this.toggle(i);
      return;
    }
    this.select(i);
    this.viewport.focus({ preventScroll: true });
  }

  toggle(i, open = null) {
    if (!this.tree.childCount(i)) return;
    const next = open === null ? !this.collapsed[i] : !open;
    if (Boolean(this.collapsed[i]) === next) return;
    this.collapsed[i] = next ? 1 : 0;
    this.refreshRows();
    this.draw(true);
  }

  expandAll(open) {
    const t = this.tree;
    if (open) this.collapsed.fill(0);
    else for (let i = 0; i < t.n; i++) this.collapsed[i] = t.childCount(i) ? 1 : 0;
    if (!open && this.selected >= 0) {
      // Keep the selection visible: select its root.
      let root = this.selected;
      while (t.parent[root] >= 0) root = t.parent[root];
      this.selected = root;
    }
    this.refreshRows();
    this.viewport.scrollTop = 0;
    this.draw(true);
    if (this.selected >= 0) this.select(this.selected, { reveal: true });
  }

  /** Select span i: open its ancestors, scroll it into view, show its detail, note it in the URL. */
  select(i, { reveal = true, silent = false } = {}) {
    if (i < 0 || !this.tree) return;
    let opened = false;
    for (const p of this.tree.ancestors(i)) {
      if (this.collapsed[p]) { this.collapsed[p] = 0; opened = true; }
    }
    if (opened) this.refreshRows();
    this.selected = i;
    if (reveal) this.scrollTo(i);
    this.draw(true);
    this.timeline.reveal(i);
    this.detail.show(this.tree, i);
    if (!silent || this.findInput.value) {
      this.ctx.replaceHash(this.ctx.link("trace", this.traceId, { exp: this.exp,
        span: this.tree.ids[i], find: this.findInput.value }));
    }
  }

  scrollTo(i) {
    const k = this.rowIndex(i);
    if (k < 0) return;
    const top = k * ROW;
    const height = this.viewport.clientHeight;
    if (top < this.viewport.scrollTop) this.viewport.scrollTop = top;
    else if (top + ROW > this.viewport.scrollTop + height) {
      this.viewport.scrollTop = top - Math.max(0, Math.floor(height / 2));
    }
  }

  /** Find spans whose name, type or id contains the text; `keepPosition` on refresh. */
  find(keepPosition) {
    const text = this.findInput.value.trim().toLowerCase();
    const t = this.tree;
    if (!t) return;
    if (!text) {
      clearTimeout(this.findTimer);
      this.matches = [];
      this.marked = null;
      this.matchAt = -1;
      this.findCount.textContent = "";
      this.draw(true);
      return;
    }
    if (!this.lowerNames || this.lowerNames.length !== t.n) {
      this.lowerNames = t.names.map((n) => String(n).toLowerCase());
    }
    const marked = new Uint8Array(t.n);
    const matches = [];
    for (let k = 0; k < t.n; k++) {
      const i = t.order[k];
      if (this.lowerNames[i].includes(text) || String(t.types[i]).toLowerCase() === text ||
        t.ids[i] === text) {
        marked[i] = 1;
        matches.push(i);
      }
    }
    this.matches = matches;
    this.marked = marked;
    if (!keepPosition) this.matchAt = -1;
    this.findCount.textContent = matches.length ? `${matches.length.toLocaleString()} found` :
      "searching…";
    this.draw(true);
    clearTimeout(this.findTimer);
    this.findTimer = setTimeout(() => this.findInContent(text), 250);
  }

  /** Spans whose content (inputs, outputs, attributes, events) holds the text: the server
   * searches them (GET /traces/{id}/find); they join the name matches, in tree order. */
  async findInContent(text) {
    let data;
    try {
      data = await api(`traces/${encodeURIComponent(this.traceId)}/find`, { params: { text } });
    } catch {
      data = { span_ids: [], truncated: false };
    }
    if (this.destroyed || this.findInput.value.trim().toLowerCase() !== text || !this.marked) return;
    const t = this.tree;
    let added = 0;
    for (const id of data.span_ids) {
      const i = t.index.get(id);
      if (i !== undefined && !this.marked[i]) { this.marked[i] = 1; added++; }
    }
    if (added) {
      const current = this.matchAt >= 0 ? this.matches[this.matchAt] : -1;
      this.matches = [];
      for (let k = 0; k < t.n; k++) if (this.marked[t.order[k]]) this.matches.push(t.order[k]);
      if (current >= 0) this.matchAt = this.matches.indexOf(current);
    }
    const count = this.matches.length;
    this.findCount.textContent = count ?
      `${count.toLocaleString()}${data.truncated ? "+" : ""} found` : "no match";
    if (this.matchAt >= 0) this.findCount.textContent = `${this.matchAt + 1} / ${count.toLocaleString()}`;
    this.draw(true);
  }

  async step(direction) {
    if (!this.matches.length) {
      this.find(false);
      const text = this.findInput.value.trim().toLowerCase();
      if (!this.matches.length && text) {
        clearTimeout(this.findTimer);
        await this.findInContent(text);
      }
      if (!this.matches.length) return;
    }
    if (this.matchAt < 0 && this.selected >= 0) {
      // Start from the selection: the next match after it in tree order.
      const here = this.tree.position[this.selected];
      const next = this.matches.findIndex((i) => this.tree.position[i] > here);
      this.matchAt = direction > 0 ? (next < 0 ? 0 : next) - 1 : (next < 0 ? this.matches.length : next);
    }
    this.matchAt = (this.matchAt + direction + this.matches.length) % this.matches.length;
    this.findCount.textContent = `${this.matchAt + 1} / ${this.matches.length.toLocaleString()}`;
    this.select(this.matches[this.matchAt], { reveal: true });
  }

  onKey(event) {
    if (!this.tree || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    const k = this.selected >= 0 ? this.rowIndex(this.selected) : -1;
    const move = (row) => {
      if (row >= 0 && row < this.rows.length) this.select(this.rows[row]);
    };
    const page = Math.max(1, Math.floor(this.viewport.clientHeight / ROW) - 1);
    const handled = {
      ArrowDown: () => move(k + 1), j: () => move(k + 1),
      ArrowUp: () => move(Math.max(0, k - 1)), k: () => move(Math.max(0, k - 1)),
      PageDown: () => move(Math.min(this.rows.length - 1, k + page)),
      PageUp: () => move(Math.max(0, k - page)),
      Home: () => move(0), End: () => move(this.rows.length - 1),
      ArrowRight: () => {
        const i = this.selected;
        if (i < 0) return;
        if (this.tree.childCount(i) && this.collapsed[i]) this.toggle(i, true);
        else if (this.tree.childCount(i)) move(k + 1);
      },
      ArrowLeft: () => {
        const i = this.selected;
        if (i < 0) return;
        if (this.tree.childCount(i) && !this.collapsed[i]) this.toggle(i, false);
        else if (this.tree.parent[i] >= 0) this.select(this.tree.parent[i]);
      },
      Enter: () => this.selected >= 0 && this.toggle(this.selected),
      " ": () => this.selected >= 0 && this.toggle(this.selected),
      n: () => this.step(1), N: () => this.step(-1),
      "+": () => this.timeline.zoom(1 / 1.5), "=": () => this.timeline.zoom(1 / 1.5),
      "-": () => this.timeline.zoom(1.5), 0: () => this.timeline.reset(),
      Escape: () => { location.hash = this.ctx.link("traces", null, { exp: this.exp }); },
    }[key];
    if (handled) {
      event.preventDefault();
      handled();
    }
  }
}
