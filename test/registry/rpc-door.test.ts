// The Registry Durable Object answers RPC only through its door: an RPC stub reaches the
// methods of the class's prototype, so those are exactly the API's calls, and the
// registry's internals (commit, remove, start, reconcile…) live behind a private field.
import { describe, expect, it } from "vitest";
import { Registry } from "../../src/registry/registry";

describe("the Registry's RPC surface", () => {
  it("is the API's calls and the alarm, nothing else", () => {
    const methods = Object.getOwnPropertyNames(Registry.prototype).filter((n) => n !== "constructor");
    expect(methods.sort()).toEqual(["alarm", "authenticate", "create", "delete", "get", "issueNodeToken", "list", "patch", "stats", "update", "watchStream"]);
  });
});
