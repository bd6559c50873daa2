// Building DOM nodes. Every string goes in as a text node or a property, never as HTML: data from
// traces stays inert whatever it contains.

/** h("div.row.error", {title: "x", onclick}, child, "text", [more]) */
export function h(spec, props, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key === "text") el.textContent = String(value);
      else if (key in el && key !== "list" && key !== "type") el[key] = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h("textarea.offscreen", { value: text, readOnly: true });
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

/** A small button copying `text()` (or a string) to the clipboard, confirming briefly. */
export function copyButton(text, label = "Copy") {
  const button = h("button.copy.ghost", { type: "button", title: label, text: label });
  button.addEventListener("click", async (event) => {
    event.stopPropagation();
    const ok = await copyText(typeof text === "function" ? text() : text);
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = label; }, 1200);
  });
  return button;
}

/** A collapsible section with a title; `build()` runs on first open (lazy content). */
export function section(title, build, { open = true, extra = null, className = "" } = {}) {
  const body = h("div.section-body");
  let built = false;
  const toggle = h("button.section-title", { type: "button", "aria-expanded": String(open) },
    h("span.chevron"), title);
  const head = h("div.section-head", null, toggle, extra);
  const el = h("section.panel-section" + (className ? "." + className : ""), null, head, body);
  const show = (yes) => {
    el.classList.toggle("closed", !yes);
    toggle.setAttribute("aria-expanded", String(yes));
    if (yes && !built) { built = true; append(body, [build()]); }
  };
  toggle.addEventListener("click", () => show(el.classList.contains("closed")));
  show(open);
  return el;
}

export function emptyNote(text) {
  return h("p.empty", { text });
}
