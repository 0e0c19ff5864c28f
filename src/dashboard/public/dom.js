// Browser module /dashboard/dom.js: builds elements from data with textContent only
// (never by parsing markup), so names and labels from the API cannot inject markup.
/** h("td", { class: "x", dataset: { k: "v" } }, "text", child) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key in el && key !== "list" && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

/** "4s", "3m", "2h", "5d": how kubectl prints ages. */
export function age(fromMs, nowMs) {
  const s = Math.max(0, Math.floor((nowMs - fromMs) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** An element whose text is the age of a timestamp, kept current by tickAges(). */
export function ageCell(timestamp, tag, dataset) {
  const ms = Date.parse(timestamp || "");
  if (!Number.isFinite(ms)) return h(tag || "td", { class: "muted", dataset }, "—");
  return h(tag || "td", { dataset: Object.assign({ since: String(ms) }, dataset), title: new Date(ms).toISOString() }, age(ms, Date.now()));
}

export function tickAges(root) {
  const now = Date.now();
  for (const el of root.querySelectorAll("[data-since]")) el.textContent = age(Number(el.dataset.since), now);
}

export function table(columns, rows) {
  return h(
    "table",
    {},
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h("tbody", {}, rows),
  );
}

export function errorText(err) {
  return err?.message ? err.message : String(err);
}
