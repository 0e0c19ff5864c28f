// Warning headers of a response, capped as kube-apiserver's recorder caps them
// (k8s.io/apiserver pkg/endpoints/filters/warning.go): duplicates are dropped; once
// the texts pass 4 Ki runes in all, every text is cut to 256 runes and no more are
// written after the total reaches 4 Ki again. The apiserver drops the rest silently
// (Go clients read headers of any size); svcedge ends with a warning that counts
// them, since a Worker's response headers are limited and a client would otherwise
// get an error for a write that was committed.

/** truncateAtTotalRunes in warning.go. */
export const MAX_WARNING_RUNES_TOTAL = 4 * 1024;
/** truncateItemRunes in warning.go. */
export const MAX_WARNING_RUNES_EACH = 256;

const runeCount = (text: string): number => [...text].length;
const truncated = (text: string): string => (runeCount(text) > MAX_WARNING_RUNES_EACH ? [...text].slice(0, MAX_WARNING_RUNES_EACH).join("") : text);

/** The texts to send, in order, after deduplication and truncation; the last one counts what was left out. */
export function cappedWarnings(texts: readonly string[]): string[] {
  const seen = new Set<string>();
  const recorded: string[] = [];
  let out: string[] = [];
  let written = 0;
  let truncating = false;
  let dropped = 0;
  for (const text of texts) {
    if (text === "" || seen.has(text)) continue;
    seen.add(text);
    if (truncating && written >= MAX_WARNING_RUNES_TOTAL) {
      dropped += 1;
      continue;
    }
    recorded.push(text);
    const item = truncating ? truncated(text) : text;
    if (truncating || written + runeCount(item) <= MAX_WARNING_RUNES_TOTAL) {
      out.push(item);
      written += runeCount(item);
      continue;
    }
    // Over the limit for the first time: start again with every text so far cut short.
    truncating = true;
    out = recorded.map(truncated);
    written = out.reduce((sum, t) => sum + runeCount(t), 0);
  }
  if (dropped > 0)
    out.push(
      `${dropped} more ${dropped === 1 ? "warning was" : "warnings were"} dropped: a response carries at most ${MAX_WARNING_RUNES_TOTAL} characters of warnings`,
    );
  return out;
}

/** RFC 7234 Warning header values as the apiserver sends them: 299 - "<text>". */
export function warningHeaderValues(texts: readonly string[]): string[] {
  return cappedWarnings(texts).map((w) => `299 - ${JSON.stringify(w)}`);
}
