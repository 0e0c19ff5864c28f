// Browser module /dashboard/app.js, the page's one script: routes the fragment
// (#/services, #/services/<ns>/<name>, #/nodes) to a view, shows the sign-in form when
// there is no token, and tears a view's requests and watches down when it leaves.
import { currentToken, signOut } from "./api.js";
import { clear, tickAges } from "./dom.js";
import { followFigures } from "./figures.js";
import { nodesView } from "./nodes.js";
import { serviceView } from "./service.js";
import { servicesView } from "./services.js";
import { signInView } from "./sign-in.js";

const view = document.getElementById("view");
const nav = document.getElementById("nav");
const figures = document.getElementById("figures");
const live = document.getElementById("live");
const signOutButton = document.getElementById("sign-out");

let viewCtl = null;
let sessionCtl = null;
let signOutMessage = "";

function chrome(signedIn) {
  nav.hidden = !signedIn;
  signOutButton.hidden = !signedIn;
  live.hidden = !signedIn;
  if (signedIn && !sessionCtl) {
    sessionCtl = new AbortController();
    followFigures(figures, sessionCtl.signal);
  }
  if (!signedIn && sessionCtl) {
    sessionCtl.abort();
    sessionCtl = null;
    figures.hidden = true;
    clear(figures);
  }
}

function route() {
  if (viewCtl) viewCtl.abort();
  viewCtl = new AbortController();
  const signal = viewCtl.signal;
  clear(view);
  const signedIn = Boolean(currentToken());
  chrome(signedIn);
  if (!signedIn) {
    signInView(view, signOutMessage, () => {
      signOutMessage = "";
      if (!location.hash || location.hash === "#/") location.hash = "#/services";
      else route();
    });
    return;
  }
  const [path, search] = location.hash.replace(/^#/, "").split("?");
  const parts = path
    .split("/")
    .filter(Boolean)
    .map((p) => decodeURIComponent(p));
  const query = new URLSearchParams(search || "");
  for (const a of nav.querySelectorAll("a")) {
    if (a.dataset.nav === (parts[0] || "services")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (parts[0] === "nodes") nodesView(view, query, signal);
  else if (parts[0] === "services" && parts.length === 3) serviceView(view, parts[1], parts[2], signal);
  else servicesView(view, query, signal);
}

window.addEventListener("hashchange", route);
window.addEventListener("svcedge:signed-out", (event) => {
  signOutMessage = event.detail || "";
  route();
});
window.addEventListener("svcedge:live", (event) => {
  live.textContent = event.detail ? "live" : "reconnecting…";
  live.className = `live ${event.detail ? "on" : "off"}`;
});
signOutButton.addEventListener("click", () => signOut(""));
live.textContent = "live";
live.className = "live on";
setInterval(() => tickAges(document), 1000);
route();
