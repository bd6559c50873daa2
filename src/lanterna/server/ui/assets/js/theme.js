// Light and dark themes: follows the system until the user picks one (kept in localStorage).

const KEY = "lanterna.theme";
const ORDER = ["system", "light", "dark"];
const listeners = new Set();

export function onThemeChange(callback) {
  listeners.add(callback);
  return () => listeners.delete(callback);
}

function apply(button, choice) {
  if (choice === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
  button.textContent = `Theme: ${choice}`;
  button.title = choice === "system" ? "Theme: follows the system (click to change)" :
    `Theme: ${choice} (click to change)`;
  for (const callback of listeners) callback();
}

export function initTheme(button) {
  let choice = localStorage.getItem(KEY);
  if (!ORDER.includes(choice)) choice = "system";
  apply(button, choice);
  button.addEventListener("click", () => {
    choice = ORDER[(ORDER.indexOf(choice) + 1) % ORDER.length];
    localStorage.setItem(KEY, choice);
    apply(button, choice);
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => apply(button, choice));
}

/** A CSS custom property's current value (for canvas drawing). */
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
