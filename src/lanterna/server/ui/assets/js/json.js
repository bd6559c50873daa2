// A collapsible JSON viewer: children are built when first opened, long strings and big arrays
// are shown in part until asked, everything is text.

import { h, copyButton } from "./dom.js";

const STRING_PART = 2000;
const ITEMS_PART = 100;
const OPEN_DEPTH = 2;

export function jsonText(value) {
  if (typeof value === "string") return value;
  try { return JSON.stringify(value, null, 2); } catch { return String(value); }
}

/** A viewer for `value` with a copy button (copies the whole value as JSON or text). */
export function jsonBlock(value) {
  return h("div.json-block", null, h("div.json-tools", null, copyButton(() => jsonText(value))),
    h("div.json", null, node(value, 0)));
}

export function longText(text, className = "text") {
  const el = h(`div.${className}`);
  const show = (all) => {
    el.replaceChildren(all || text.length <= STRING_PART ? text : text.slice(0, STRING_PART));
    if (!all && text.length > STRING_PART) {
      el.append(h("button.more.ghost", { type: "button",
        text: `… show all ${text.length.toLocaleString()} characters`,
        onclick: () => show(true) }));
    }
  };
  show(false);
  return el;
}

function node(value, depth) {
  if (value === null) return h("span.j-null", { text: "null" });
  if (typeof value === "string") return stringNode(value);
  if (typeof value === "number") return h("span.j-num", { text: String(value) });
  if (typeof value === "boolean") return h("span.j-bool", { text: String(value) });
  if (typeof value !== "object") return h("span", { text: String(value) });
  const isArray = Array.isArray(value);
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  if (!entries.length) return h("span.j-punct", { text: open + close });
  const summary = isArray ? `${entries.length} item${entries.length === 1 ? "" : "s"}` :
    `${entries.length} key${entries.length === 1 ? "" : "s"}`;
  const toggle = h("button.j-toggle", { type: "button", "aria-expanded": "false" });
  const hint = h("span.j-summary", { text: ` ${summary} ` });
  const body = h("div.j-body");
  const wrap = h("span.j-node", null, toggle, h("span.j-punct", { text: open }), hint, body,
    h("span.j-punct", { text: close }));
  let shown = 0;
  const more = h("button.more.ghost", { type: "button" });
  const fill = () => {
    const next = Math.min(entries.length, shown + ITEMS_PART);
    for (; shown < next; shown++) {
      const [key, child] = entries[shown];
      body.insertBefore(h("div.j-entry", null,
        h(isArray ? "span.j-index" : "span.j-key", { text: isArray ? `${key}` : JSON.stringify(key) }),
        h("span.j-punct", { text: ": " }), node(child, depth + 1)), more);
    }
    more.hidden = shown >= entries.length;
    more.textContent = `show ${Math.min(ITEMS_PART, entries.length - shown)} more of ${entries.length}`;
  };
  more.addEventListener("click", fill);
  body.append(more);
  const setOpen = (yes) => {
    if (yes && shown === 0) fill();
    wrap.classList.toggle("open", yes);
    toggle.setAttribute("aria-expanded", String(yes));
    toggle.textContent = yes ? "▾" : "▸";
    toggle.title = yes ? "Collapse" : "Expand";
  };
  toggle.addEventListener("click", () => setOpen(!wrap.classList.contains("open")));
  hint.addEventListener("click", () => setOpen(true));
  setOpen(depth < OPEN_DEPTH && entries.length <= 50);
  return wrap;
}

function stringNode(text) {
  const el = h("span.j-str");
  const render = (all) => {
    const shownText = all || text.length <= STRING_PART ? text : text.slice(0, STRING_PART);
    el.replaceChildren(JSON.stringify(shownText).slice(0, all || text.length <= STRING_PART ?
      undefined : -1));
    if (!all && text.length > STRING_PART) {
      el.append(h("button.more.ghost", { type: "button",
        text: `… show all ${text.length.toLocaleString()} characters`,
        onclick: () => render(true) }));
    }
  };
  render(false);
  return el;
}
