// Browser module /dashboard/api.js: the admin token and authenticated requests.
// The token lives in sessionStorage only (gone when the tab closes; never in a URL or
// a cookie) and goes out only in the Authorization header to this origin.
const TOKEN_KEY = "svcedge.adminToken";

export function currentToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** Forgets the token and tells the app, which shows the sign-in form. */
export function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new CustomEvent("svcedge:signed-out", { detail: reason || "" }));
}

/** A failed API call, with the Kubernetes Status the server answered when there was one. */
export class ApiError extends Error {
  constructor(code, status, fallback) {
    super(status && typeof status.message === "string" ? status.message : fallback);
    this.code = code;
    this.reason = status?.reason;
  }
}

/** An authenticated fetch; 401 signs out (a wrong, rotated or revoked token). */
export async function apiFetch(path, options) {
  const opts = options || {};
  const token = opts.token || currentToken();
  if (!token) {
    signOut("");
    throw new ApiError(401, null, "not signed in");
  }
  const headers = { authorization: `Bearer ${token}`, accept: opts.accept || "application/json" };
  const res = await fetch(path, { headers, signal: opts.signal, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
  if (res.ok) return res;
  const text = await res.text();
  let status = null;
  try {
    status = JSON.parse(text);
  } catch (_e) {
    status = null;
  }
  const err = new ApiError(res.status, status, `${res.status} ${res.statusText}`);
  if (res.status === 401 && !opts.token) signOut("The API refused the token (401 Unauthorized). Sign in again.");
  throw err;
}

export async function getJson(path, options) {
  const res = await apiFetch(path, options);
  return res.json();
}

export async function getText(path, options) {
  const res = await apiFetch(path, Object.assign({ accept: "text/plain" }, options || {}));
  return res.text();
}

/** Path segments are names the API validated; they are still escaped. */
export function seg(name) {
  return encodeURIComponent(name);
}
