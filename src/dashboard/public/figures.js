// Browser module /dashboard/figures.js: the registry's figures (objects per resource,
// KV writes pending, open watches) from GET /metrics, the Prometheus text the admin
// API already serves; no watch carries them, so they are read again every few seconds.
import { getText } from "./api.js";
import { clear, errorText, h } from "./dom.js";
import { sleep } from "./watch.js";

const FIGURES_POLL_MS = 5000;

/** Samples of the text exposition format: name{labels} value, one per line. */
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const pair of (m[2] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

function figure(label, value, role) {
  return h("span", {}, `${label} `, h("b", { dataset: { figure: role } }, String(value)));
}

function draw(el, samples) {
  const one = (name) => {
    const s = samples.find((x) => x.name === name);
    return s ? s.value : "—";
  };
  clear(el);
  const objects = samples.filter((s) => s.name === "svcedge_registry_objects");
  el.append(h("span", {}, "Registry:"));
  for (const s of objects) el.append(figure(s.labels.resource, s.value, `objects-${s.labels.resource}`));
  el.append(
    figure("KV writes pending", one("svcedge_registry_kv_pending"), "kv-pending"),
    figure("watchers", one("svcedge_registry_watchers"), "watchers"),
    figure("resourceVersion", one("svcedge_registry_resource_version"), "resource-version"),
  );
}

/** Fills el until signal aborts. */
export function followFigures(el, signal) {
  el.hidden = false;
  (async () => {
    while (!signal.aborted) {
      try {
        draw(el, parseMetrics(await getText("/metrics", { signal })));
      } catch (err) {
        if (signal.aborted) return;
        clear(el);
        el.append(h("span", { class: "muted" }, `Registry figures unavailable: ${errorText(err)}`));
      }
      await sleep(FIGURES_POLL_MS, signal);
    }
  })();
}
