// The shell: routes (the URL hash holds the view, trace, span and filter, so links reopen them),
// the experiment picker, the theme and global keys.

import { api } from "./api.js";
import { h } from "./dom.js";
import { ListView } from "./list.js";
import { TraceView } from "./trace.js";
import { SessionsView, SessionView } from "./sessions.js";
import { CompareView } from "./compare.js";
import { initTheme } from "./theme.js";

const view = document.getElementById("view");
const picker = document.getElementById("experiment");
let current = null;
let experiments = [];

/** Parse "#/trace/<id>?span=x" into {route: "trace", arg: "<id>", params}. */
export function parseHash(hash = location.hash) {
  const text = hash.replace(/^#\/?/, "");
  const [path, query = ""] = text.split(/\?(.*)/s, 2);
  const [route = "traces", ...rest] = path.split("/");
  return {
    route: route || "traces",
    arg: rest.length ? decodeURIComponent(rest.join("/")) : null,
    params: new URLSearchParams(query),
  };
}

export function link(route, arg, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return `#/${route}${arg ? "/" + encodeURIComponent(arg) : ""}${text ? "?" + text : ""}`;
}

/** Change the URL without adding history (selection, find text). */
export function replaceHash(hash) {
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

export function experimentId() {
  return parseHash().params.get("exp") || picker.value || "0";
}

const VIEWS = {
  traces: ListView,
  trace: TraceView,
  sessions: SessionsView,
  session: SessionView,
  compare: CompareView,
};

function route() {
  const parsed = parseHash();
  const View = VIEWS[parsed.route] || ListView;
  const exp = parsed.params.get("exp");
  if (exp && picker.value !== exp && [...picker.options].some((o) => o.value === exp)) {
    picker.value = exp;
  }
  for (const tab of document.querySelectorAll(".tabs a")) {
    const active = tab.dataset.tab === parsed.route ||
      (tab.dataset.tab === "sessions" && parsed.route === "session") ||
      (tab.dataset.tab === "traces" && ["trace", "compare"].includes(parsed.route));
    tab.classList.toggle("active", active);
    tab.href = link(tab.dataset.tab, null, { exp: experimentId() });
  }
  if (current instanceof View && current.update && current.update(parsed)) return;
  if (current) current.destroy();
  view.replaceChildren();
  current = new View(view, parsed, { experimentId, link, replaceHash, experiments: () => experiments });
}

async function loadExperiments() {
  try {
    const data = await api("experiments");
    experiments = data.experiments || [];
  } catch (error) {
    experiments = [];
    view.append(h("p.error", { text: `Could not list experiments: ${error.message}` }));
  }
  const wanted = parseHash().params.get("exp");
  picker.replaceChildren(...experiments.map((e) =>
    h("option", { value: e.experiment_id, text: `${e.name} (${e.trace_count})` })));
  if (!experiments.length) picker.append(h("option", { value: "0", text: "Default" }));
  const withTraces = experiments.find((e) => e.trace_count > 0);
  picker.value = wanted || (withTraces ? withTraces.experiment_id : picker.options[0].value);
}

picker.addEventListener("change", () => {
  const parsed = parseHash();
  const target = ["sessions", "session"].includes(parsed.route) ? "sessions" : "traces";
  location.hash = link(target, null, { exp: picker.value });
});

document.addEventListener("keydown", (event) => {
  const typing = event.target.closest && event.target.closest("input, textarea, select");
  if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey) {
    const search = view.querySelector("[data-search]");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  } else if (event.key === "Escape" && typing) {
    event.target.blur();
    view.focus();
  } else if (!typing && current && current.onKey) {
    current.onKey(event);
  }
});

window.addEventListener("hashchange", route);
initTheme(document.getElementById("theme"));
if (parseHash().params.get("exp") || ["trace", "session", "compare"].includes(parseHash().route)) {
  // The URL names what to show: show it now, fill the experiment picker alongside.
  route();
  loadExperiments().then(() => {
    const exp = parseHash().params.get("exp");
    if (exp && [...picker.options].some((o) => o.value === exp)) picker.value = exp;
  });
} else {
  loadExperiments().then(route);
}
