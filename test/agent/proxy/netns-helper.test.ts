import { execFileSync } from "node:child_process";
import { expect, it } from "vitest";
import { describeNetns, ECHO_SERVER, httpGetIn, NetnsLab, netnsUnavailable } from "../netns";

it("names the missing tool when namespace tests cannot run", () => {
  expect(netnsUnavailable(["svcedge-no-such-tool"])).toMatch(/need (root|svcedge-no-such-tool)/);
});

describeNetns("lab namespaces", [], () => {
  it("creates linked namespaces and removes every one of them on destroy", async () => {
    const lab = NetnsLab.create();
    try {
      await lab.addNamespace("a");
      await lab.addNamespace("b");
      await lab.link({ ns: "a", cidr: "198.18.5.1/30" }, { ns: "b", cidr: "198.18.5.2/30" });
      await lab.startNode("b", ECHO_SERVER, ["198.18.5.2", "8080"]);
      expect(await httpGetIn(lab, "a", "http://198.18.5.2:8080/")).toEqual([{ server: "198.18.5.2:8080", remote: "198.18.5.1" }]);
    } finally {
      await lab.destroy();
    }
    const left = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    // biome-ignore lint/complexity/useLiteralKeys: the lab's id is private; the test reads it to check the namespace is gone.
    expect(left).not.toContain(lab["id"]);
  });
});
