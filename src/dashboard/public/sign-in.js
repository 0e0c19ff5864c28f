// Browser module /dashboard/sign-in.js: the sign-in form. The token is tried against
// the API first and kept (by api.js) only when the API accepts it as the admin's:
// /metrics is the admin's alone, so a node token is refused here rather than half-working.
import { apiFetch, signIn } from "./api.js";
import { h } from "./dom.js";

export function signInView(root, message, done) {
  const token = h("input", {
    type: "password",
    id: "token",
    name: "token",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-label": "Admin token",
  });
  const error = h("p", { class: "error", role: "alert", dataset: { role: "sign-in-error" }, hidden: !message }, message || "");
  const button = h("button", { type: "submit" }, "Sign in");
  // method=post and CSP form-action 'none': even without this script the token could not end up in a URL.
  const form = h(
    "form",
    { class: "sign-in", method: "post", action: "" },
    h("label", { for: "token" }, "Admin token (ADMIN_TOKEN; npm start prints it)"),
    token,
    button,
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = token.value.trim();
    if (!value) return;
    button.disabled = true;
    error.hidden = true;
    try {
      await apiFetch("/metrics", { token: value, accept: "text/plain" });
      signIn(value);
      done();
    } catch (err) {
      error.textContent =
        err.code === 401
          ? "Wrong token: the API answered 401 Unauthorized."
          : err.code === 403
            ? `Not the admin token: ${err.message}`
            : `Sign-in failed: ${err.message || String(err)}`;
      error.hidden = false;
      token.select();
    } finally {
      button.disabled = false;
    }
  });
  root.append(h("h1", {}, "Sign in"), form);
  token.focus();
}
