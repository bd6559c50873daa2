// The timeline, drawn on canvas: an overview of the whole trace (how many spans run at each
// moment, errors as red ticks, the zoom window as a brush) and, row by row beside the tree, one
// bar per span within the zoom window. Ctrl+wheel zooms, dragging pans, the brush selects.

import { cssVar, onThemeChange } from "./theme.js";
import { duration } from "./format.js";

export const TYPE_COLOURS = {
  LLM: "#8b5cf6", CHAT_MODEL: "#8b5cf6", EMBEDDING: "#a855f7", RETRIEVER: "#0ea5e9",
  RERANKER: "#06b6d4", TOOL: "#f59e0b", AGENT: "#10b981", CHAIN: "#64748b", PARSER: "#84cc16",
  MEMORY: "#ec4899", GUARDRAIL: "#f97316", EVALUATOR: "#14b8a6", UNKNOWN: "#94a3b8",
};
export const ERROR_COLOUR = "#dc2626";
/** Room kept right of the zoom window, so the last bar and its label show. */
const PAD = 36;

export function typeColour(type) {
  return TYPE_COLOURS[type] || TYPE_COLOURS.UNKNOWN;
}

function niceStep(span, target) {
  const raw = span / Math.max(target, 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function sizeCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, canvas.clientWidth);
  const height = Math.max(1, canvas.clientHeight);
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, width, height };
}

export class Timeline {
  constructor({ overview, axis, bars, onChange }) {
    this.overview = overview;
    this.axis = axis;
    this.bars = bars;
    this.onChange = onChange;
    this.tree = null;
    this.w0 = 0;
    this.w1 = 1;
    this.density = null;
    this.listen();
    this.unsubscribe = onThemeChange(() => { this.density = null; this.drawAll(); });
  }

  destroy() {
    this.unsubscribe();
  }

  setTree(tree, keepWindow = false) {
    const extent = tree.extent;
    const wasFull = !this.tree || (this.w0 === 0 && this.w1 >= this.tree.extent);
    this.tree = tree;
    if (!keepWindow || wasFull) { this.w0 = 0; this.w1 = extent; }
    this.density = null;
  }

  setWindow(w0, w1) {
    const extent = this.tree ? this.tree.extent : 1;
    const minSpan = Math.max(extent / 1e6, 1000); // 1 µs at least
    let width = Math.max(minSpan, Math.min(extent, w1 - w0));
    let start = Math.max(0, Math.min(extent - width, w0));
    if (!Number.isFinite(start)) start = 0;
    if (!Number.isFinite(width)) width = extent;
    this.w0 = start;
    this.w1 = start + width;
    this.drawAll();
    this.onChange();
  }

  zoom(factor, at = 0.5) {
    const span = this.w1 - this.w0;
    const pivot = this.w0 + span * at;
    const next = span * factor;
    this.setWindow(pivot - next * at, pivot - next * at + next);
  }

  reset() {
    if (this.tree) this.setWindow(0, this.tree.extent);
  }

  /** Put a span's bar in view (zooming out if needed). */
  reveal(i) {
    const t = this.tree;
    if (!t) return;
    const start = t.start[i];
    const end = t.end[i] ?? t.extent;
    if (start >= this.w0 && end <= this.w1) return;
    const span = Math.max(this.w1 - this.w0, end - start);
    this.setWindow(start - span * 0.1, start - span * 0.1 + span * 1.2);
  }

  drawAll() {
    this.drawOverview();
    this.drawAxis();
  }

  /** Count of running spans per pixel column (a difference array: O(n + width)). */
  computeDensity(width) {
    const t = this.tree;
    const counts = new Float64Array(width + 1);
    const errors = new Uint8Array(width);
    const scale = width / t.extent;
    for (let i = 0; i < t.n; i++) {
      const a = Math.min(width - 1, Math.floor(t.start[i] * scale));
      const end = t.end[i] ?? t.extent;
      const b = Math.min(width, Math.max(a + 1, Math.ceil(end * scale)));
      counts[a] += 1;
      counts[b] -= 1;
      if (t.status[i] === "ERROR") errors[a] = 1;
    }
    let running = 0;
    let max = 1;
    const heights = new Float64Array(width);
    for (let x = 0; x < width; x++) {
      running += counts[x];
      heights[x] = running;
      if (running > max) max = running;
    }
    return { width, heights, errors, max };
  }

  drawOverview() {
    const t = this.tree;
    const { ctx, width, height } = sizeCanvas(this.overview);
    ctx.clearRect(0, 0, width, height);
    if (!t) return;
    if (!this.density || this.density.width !== Math.floor(width)) {
      this.density = this.computeDensity(Math.floor(width));
    }
    const d = this.density;
    ctx.fillStyle = cssVar("--overview");
    for (let x = 0; x < d.width; x++) {
      if (!d.heights[x]) continue;
      const hgt = Math.max(1, (d.heights[x] / d.max) * (height - 6));
      ctx.fillRect(x, height - hgt, 1, hgt);
    }
    ctx.fillStyle = ERROR_COLOUR;
    for (let x = 0; x < d.width; x++) if (d.errors[x]) ctx.fillRect(x, 0, 1.5, 6);
    if (this.w0 <= 0 && this.w1 >= t.extent) return; // the whole trace: no brush
    const a = (this.w0 / t.extent) * width;
    const b = (this.w1 / t.extent) * width;
    ctx.fillStyle = cssVar("--brush");
    ctx.fillRect(a, 0, Math.max(2, b - a), height);
    ctx.strokeStyle = cssVar("--accent");
    ctx.strokeRect(a + 0.5, 0.5, Math.max(2, b - a) - 1, height - 1);
  }

  drawAxis() {
    const { ctx, width, height } = sizeCanvas(this.axis);
    ctx.clearRect(0, 0, width, height);
    if (!this.tree) return;
    const span = this.w1 - this.w0;
    const inner = Math.max(1, width - PAD);
    const step = niceStep(span, inner / 90);
    ctx.fillStyle = cssVar("--muted");
    ctx.strokeStyle = cssVar("--grid");
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let tick = Math.ceil(this.w0 / step) * step; tick <= this.w1; tick += step) {
      const x = ((tick - this.w0) / span) * inner;
      ctx.beginPath();
      ctx.moveTo(Math.round(x) + 0.5, height - 5);
      ctx.lineTo(Math.round(x) + 0.5, height);
      ctx.stroke();
      ctx.fillText(tick === 0 ? "0" : duration(tick / 1e6), x + 3, height / 2);
    }
    this.step = step;
  }

  /** Bars for the rows on screen: rows[first..] at y = k*rowHeight - offset. */
  drawBars(rows, first, count, rowHeight, offset, selected, marked) {
    const t = this.tree;
    const { ctx, width, height } = sizeCanvas(this.bars);
    ctx.clearRect(0, 0, width, height);
    if (!t) return;
    const span = this.w1 - this.w0;
    const scale = Math.max(1, width - PAD) / span;
    ctx.strokeStyle = cssVar("--grid");
    if (this.step) {
      for (let tick = Math.ceil(this.w0 / this.step) * this.step; tick <= this.w1;
        tick += this.step) {
        const x = Math.round((tick - this.w0) * scale) + 0.5;
        ctx.beginPath();
        ctx.moveTo(x, 0);
        ctx.lineTo(x, height);
        ctx.stroke();
      }
    }
    const text = cssVar("--muted");
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let k = 0; k < count; k++) {
      const row = first + k;
      if (row >= rows.length) break;
      const i = rows[row];
      const y = k * rowHeight - offset;
      if (i === selected) {
        ctx.fillStyle = cssVar("--selected");
        ctx.fillRect(0, y, width, rowHeight);
      } else if (marked && marked[i]) {
        ctx.fillStyle = cssVar("--match");
        ctx.fillRect(0, y, width, rowHeight);
      }
      const open = t.end[i] === null || t.end[i] === undefined;
      const end = open ? t.extent : t.end[i];
      const x0 = (t.start[i] - this.w0) * scale;
      const x1 = (end - this.w0) * scale;
      if (x1 < 0 || x0 > width) continue;
      const left = Math.max(-2, x0);
      const barWidth = Math.max(2, Math.min(width + 2, x1) - left);
      const error = t.status[i] === "ERROR";
      ctx.fillStyle = error ? ERROR_COLOUR : typeColour(t.types[i]);
      ctx.globalAlpha = open ? 0.45 : 1;
      ctx.fillRect(left, y + 5, barWidth, rowHeight - 10);
      ctx.globalAlpha = 1;
      if (error) {
        ctx.fillStyle = ERROR_COLOUR;
        ctx.beginPath();
        const mx = Math.min(width - 6, Math.max(6, x0));
        ctx.moveTo(mx - 5, y + 3);
        ctx.lineTo(mx + 5, y + 3);
        ctx.lineTo(mx, y + 9);
        ctx.fill();
      }
      const label = open ? "running" : duration((end - t.start[i]) / 1e6);
      const room = width - (left + barWidth) - 4;
      ctx.fillStyle = text;
      if (room > 50) ctx.fillText(label, left + barWidth + 4, y + rowHeight / 2);
    }
  }

  listen() {
    this.bars.addEventListener("wheel", (event) => {
      if (!event.ctrlKey && !event.metaKey) return;
      event.preventDefault();
      const at = Math.min(1, event.offsetX / Math.max(1, this.bars.clientWidth - PAD));
      this.zoom(event.deltaY > 0 ? 1.25 : 0.8, at);
    }, { passive: false });
    let drag = null;
    this.bars.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX, w0: this.w0, w1: this.w1, moved: false };
      this.bars.setPointerCapture(event.pointerId);
    });
    this.bars.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      if (Math.abs(dx) > 3) drag.moved = true;
      if (!drag.moved) return;
      const shift = (dx / Math.max(1, this.bars.clientWidth - PAD)) * (drag.w1 - drag.w0);
      this.setWindow(drag.w0 - shift, drag.w1 - shift);
    });
    this.bars.addEventListener("pointerup", (event) => {
      const wasDrag = drag && drag.moved;
      drag = null;
      if (wasDrag) event.stopPropagation();
      this.bars.dataset.dragged = wasDrag ? "1" : "";
    });
    let brush = null;
    const at = (event) => {
      const rect = this.overview.getBoundingClientRect();
      return Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width)) *
        (this.tree ? this.tree.extent : 1);
    };
    this.overview.addEventListener("pointerdown", (event) => {
      if (!this.tree) return;
      brush = at(event);
      this.overview.setPointerCapture(event.pointerId);
    });
    this.overview.addEventListener("pointermove", (event) => {
      if (brush === null) return;
      const here = at(event);
      if (Math.abs(here - brush) > this.tree.extent / 500) {
        this.setWindow(Math.min(brush, here), Math.max(brush, here));
      }
    });
    this.overview.addEventListener("pointerup", (event) => {
      if (brush !== null && Math.abs(at(event) - brush) <= this.tree.extent / 500) {
        const span = this.w1 - this.w0; // a click centres the window there
        this.setWindow(brush - span / 2, brush + span / 2);
      }
      brush = null;
    });
    this.overview.addEventListener("dblclick", () => this.reset());
  }
}
