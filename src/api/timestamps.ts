// Kubernetes' timestamp formats: metav1.Time is RFC 3339 to the second
// ("2026-12-07T17:18:08Z"); metav1.MicroTime (Lease renewTime, acquireTime) to the
// microsecond ("2026-12-07T17:18:08.123000Z").

/** metav1.Time of a moment (ms since the epoch, or a Date). */
export const kubeTime = (at: number | Date): string => new Date(at).toISOString().replace(/\.\d+Z$/, "Z");

/** metav1.MicroTime of a moment: JavaScript knows milliseconds, so the last three digits are zeros. */
export const kubeMicroTime = (at: number | Date): string => new Date(at).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
