// The dashboard's page, style sheet and icon (served by ../assets.ts). The page loads
// one module script and one style sheet: no inline script, style or event handler, so
// the Content-Security-Policy can forbid them all.

export const INDEX_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>svcedge</title>
<link rel="icon" href="icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="style.css">
<script type="module" src="app.js"></script>
</head>
<body>
<header class="bar">
  <a class="brand" href="#/services">svcedge</a>
  <nav id="nav" hidden>
    <a href="#/services" data-nav="services">Services</a>
    <a href="#/nodes" data-nav="nodes">Nodes</a>
  </nav>
  <span class="grow"></span>
  <span id="live" class="live" hidden></span>
  <button id="sign-out" type="button" hidden>Sign out</button>
</header>
<section id="figures" class="figures" aria-label="Registry figures" hidden></section>
<main id="view"><p class="muted">Loading…</p></main>
<noscript><p>The dashboard needs JavaScript.</p></noscript>
</body>
</html>
`;

export const STYLE_CSS = String.raw`:root { color-scheme: light dark; --fg: #1b1f24; --muted: #5b6470; --line: #d6dbe1; --bg: #fff; --head: #f3f5f7; --ok: #137333; --bad: #b3261e; --warn: #8a5a00; --accent: #0b57d0; }
@media (prefers-color-scheme: dark) { :root { --fg: #e3e6ea; --muted: #9aa3ad; --line: #3a4048; --bg: #16191d; --head: #1f2329; --ok: #6dd58c; --bad: #f2b8b5; --warn: #f0c36d; --accent: #a8c7fa; } }
[hidden] { display: none !important; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.bar { display: flex; align-items: center; gap: 1.25rem; padding: .6rem 1.25rem; border-bottom: 1px solid var(--line); background: var(--head); }
.brand { font-weight: 700; color: var(--fg); }
nav { display: flex; gap: 1rem; }
nav a[aria-current="page"] { font-weight: 600; color: var(--fg); }
.grow { flex: 1; }
.live { font-size: 12px; color: var(--muted); }
.live.on::before { content: "● "; color: var(--ok); }
.live.off::before { content: "● "; color: var(--warn); }
.figures { display: flex; flex-wrap: wrap; gap: .4rem 1.5rem; padding: .5rem 1.25rem; border-bottom: 1px solid var(--line); font-size: 13px; color: var(--muted); }
.figures b { color: var(--fg); font-variant-numeric: tabular-nums; }
main { padding: 1rem 1.25rem 3rem; }
h1 { font-size: 18px; margin: 0 0 .75rem; }
h2 { font-size: 15px; margin: 1.5rem 0 .5rem; }
.tools { display: flex; align-items: center; flex-wrap: wrap; gap: .5rem; margin-bottom: .75rem; }
input[type="search"], input[type="password"] { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); min-width: 24rem; }
button { font: inherit; padding: .3rem .8rem; border: 1px solid var(--line); border-radius: 4px; background: var(--head); color: var(--fg); cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--head); font-weight: 600; position: sticky; top: 0; }
td.wrap { word-break: break-all; }
.muted { color: var(--muted); }
.ok { color: var(--ok); }
.bad { color: var(--bad); }
.warn { color: var(--warn); }
.error { color: var(--bad); margin: .5rem 0; }
.notice { padding: .4rem .6rem; border: 1px solid var(--line); border-radius: 4px; background: var(--head); margin-bottom: .75rem; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0 0 1rem; }
dl.summary dt { color: var(--muted); }
dl.summary dd { margin: 0; }
form.sign-in { max-width: 32rem; display: grid; gap: .6rem; }
form.sign-in input { width: 100%; }
`;

export const ICON_SVG = String.raw`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b57d0"/><path d="M4 8h8M8 4v8" stroke="#fff" stroke-width="2"/></svg>
`;
