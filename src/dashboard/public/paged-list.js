// Browser module /dashboard/paged-list.js: a paged, filterable table of one
// collection (Services, Nodes) that stays current: the rows shown follow the
// collection's watch, and a companion (EndpointSlices, Leases) adds per-row data
// with a watch of its own. New objects do not reshuffle the page; a notice offers them.
import { clear, errorText, h, table } from "./dom.js";
import { FIRST, loadPage } from "./pager.js";
import { watchCollection } from "./watch.js";

/** Rows per page. */
export const PAGE_SIZE = 50;
/** Quiet time after the last keystroke before the filter runs. */
const FILTER_DEBOUNCE_MS = 250;

export const objectKey = (o) => (o.metadata.namespace ? `${o.metadata.namespace}/` : "") + o.metadata.name;

/**
 * spec: { title, noun: [one, many], route, path, columns, row(object, extra) → <tr>, filterText(object),
 * filterHint, companion?(items, signal, changed(key)) → Promise<{ extraOf(key) }> }
 */
export function pagedList(root, spec, query, signal) {
  let filter = (query.get("q") || "").trim();
  let cursors = [FIRST];
  let pageCtl = null;
  let current = null;
  const input = h("input", { type: "search", placeholder: spec.filterHint, value: filter, "aria-label": "Filter", autocomplete: "off", spellcheck: "false" });
  const prev = h("button", { type: "button", disabled: true }, "← Previous");
  const next = h("button", { type: "button", disabled: true }, "Next →");
  const info = h("span", { class: "muted", dataset: { role: "page-info" } });
  const notice = h("div", { class: "notice", hidden: true, dataset: { role: "notice" } });
  const body = h("div");
  root.append(h("h1", {}, spec.title), h("div", { class: "tools" }, input, prev, next, info), notice, body);

  let debounce;
  input.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      filter = input.value.trim();
      cursors = [FIRST];
      // The filter goes in the fragment (it is never sent to a server), so a reload keeps it.
      history.replaceState(null, "", `#/${spec.route}${filter ? `?q=${encodeURIComponent(filter)}` : ""}`);
      show();
    }, FILTER_DEBOUNCE_MS);
  });
  next.addEventListener("click", () => {
    if (current?.next) {
      cursors.push(current.next);
      show();
    }
  });
  prev.addEventListener("click", () => {
    if (cursors.length > 1) {
      cursors.pop();
      show();
    }
  });
  signal.addEventListener("abort", () => {
    clearTimeout(debounce);
    if (pageCtl) pageCtl.abort();
  });

  const matcher = () => {
    const needle = filter.toLowerCase();
    return needle ? (o) => spec.filterText(o).toLowerCase().includes(needle) : null;
  };

  async function show(message) {
    if (pageCtl) pageCtl.abort();
    if (signal.aborted) return;
    const ctl = new AbortController();
    pageCtl = ctl;
    prev.disabled = true;
    next.disabled = true;
    info.textContent = "Loading…";
    notice.hidden = !message;
    clear(notice);
    if (message) notice.append(message);
    const matches = matcher();
    try {
      const page = await loadPage(spec.path, cursors[cursors.length - 1], PAGE_SIZE, matches, ctl.signal);
      let extraOf = () => undefined;
      const rows = new Map();
      const replace = (key) => {
        const row = rows.get(key);
        if (!row) return;
        const tr = spec.row(row.object, extraOf(key));
        tr.dataset.key = key;
        row.tr.replaceWith(tr);
        row.tr = tr;
      };
      if (spec.companion) extraOf = (await spec.companion(page.items, ctl.signal, replace)).extraOf;
      if (ctl.signal.aborted) return;
      current = page;
      render(page, rows, extraOf);
      follow(page, rows, replace, matches, ctl.signal);
    } catch (err) {
      if (ctl.signal.aborted) return;
      if (err && err.code === 410 && cursors.length > 1) {
        cursors = [FIRST];
        return show("The list changed too much since its first page was read: back to the first page.");
      }
      clear(body);
      body.append(h("p", { class: "error", role: "alert" }, errorText(err)));
      info.textContent = "";
    }
  }

  function render(page, rows, extraOf) {
    const trs = page.items.map((o) => {
      const key = objectKey(o);
      const tr = spec.row(o, extraOf(key));
      tr.dataset.key = key;
      rows.set(key, { object: o, tr });
      return tr;
    });
    clear(body);
    if (trs.length === 0) body.append(h("p", { class: "muted", dataset: { role: "empty" } }, filter ? "Nothing matches the filter." : "None yet."));
    else body.append(table(spec.columns, trs));
    const first = (cursors.length - 1) * PAGE_SIZE;
    let text = trs.length ? `Showing ${first + 1}–${first + trs.length}` : "";
    if (page.remaining) text += ` · about ${page.remaining} more`;
    if (filter) text += ` · ${page.scanned} scanned`;
    if (page.partial) text += " · scan paused: Next scans on";
    info.textContent = text;
    prev.disabled = cursors.length <= 1;
    next.disabled = !page.next;
  }

  function follow(page, rows, replace, matches, pageSignal) {
    let added = 0;
    watchCollection(
      spec.path,
      {},
      page.resourceVersion,
      {
        onEvent(type, o) {
          const key = objectKey(o);
          const row = rows.get(key);
          if (type === "DELETED") {
            if (row) {
              row.tr.remove();
              rows.delete(key);
            }
            return;
          }
          if (row) {
            row.object = o;
            replace(key);
          } else if (type === "ADDED" && (!matches || matches(o))) {
            added += 1;
            clear(notice);
            notice.append(
              `${added} new ${spec.noun[added === 1 ? 0 : 1]} since this page was loaded. `,
              h("button", { type: "button", onclick: () => show() }, "Reload"),
            );
            notice.hidden = false;
          }
        },
        onExpired() {
          show();
        },
      },
      pageSignal,
    );
  }

  show();
}
