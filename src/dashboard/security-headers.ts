// Headers on every dashboard asset. The page runs only its own scripts and styles
// (no inline code, no eval), talks only to its own origin, cannot be framed, and
// submits no form anywhere: the sign-in form is handled by script, so a page whose
// script failed cannot send the token in a URL either.
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export function dashboardHeaders(contentType: string): Headers {
  return new Headers({
    "content-type": contentType,
    "content-security-policy": DASHBOARD_CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    // The assets change with each deploy and are small: revalidate rather than serve a stale page.
    "cache-control": "no-cache",
  });
}
