// describe() for the agent's namespace tests; the lab itself is scripts/lab/netns.ts (shared
// with the benchmarks).
import { describe, it } from "vitest";
import { netnsUnavailable } from "../../scripts/lab/netns";

export { ECHO_SERVER, HTTP_GET, httpGetIn, NetnsLab, netnsUnavailable, type HttpAnswer, type LinkEnd } from "../../scripts/lab/netns";

/**
 * describe() for tests that need namespaces and the given tools: skipped with the reason
 * when they are unavailable, and failed instead when REQUIRE_NETNS=1.
 */
export function describeNetns(name: string, tools: string[], body: () => void): void {
  const reason = netnsUnavailable(tools);
  if (!reason) {
    describe(name, body);
    return;
  }
  if (process.env.REQUIRE_NETNS === "1") {
    describe(name, () =>
      it("has what network namespace tests need (REQUIRE_NETNS=1)", () => {
        throw new Error(reason);
      }),
    );
    return;
  }
  console.warn(`skipping "${name}": ${reason}`);
  describe.skip(name, body);
}
