// The allocators keep one SQLite row per allocated value. Random allocation prefers the
// dynamic band, falls back to the static band, finds the last free values of a crowded
// range by searching for gaps, and says so when the range is full.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AllocationError, ClusterIPAllocator, NodePortAllocator } from "../../src/registry/allocators";

let instances = 0;
async function withSql(test: (sql: SqlStorage) => void): Promise<void> {
  const stub = env.REGISTRY.get(env.REGISTRY.idFromName(`allocators-${Date.now()}-${instances++}`));
  await runInDurableObject(stub, (_instance, state) => test(state.storage.sql));
}

describe("allocators in SQLite", () => {
  it("hands out every NodePort of a range once, dynamic band first, then refuses", () =>
    withSql((sql) => {
      const ports = new NodePortAllocator(sql, "30000-30039");
      const got = Array.from({ length: 40 }, () => ports.allocate());
      expect(new Set(got).size).toBe(40);
      // Static band: the lowest 16 ports (kube-apiserver's min(max(16, size/32), 128)); the first 24 come from above it.
      expect(got.slice(0, 24).every((p) => p >= 30016)).toBe(true);
      expect(got.slice(24).every((p) => p < 30016)).toBe(true);
      expect(() => ports.allocate()).toThrow(AllocationError);
      ports.release(30007);
      expect(ports.allocate()).toBe(30007);
      expect(() => ports.allocate(30007)).toThrow("provided port is already allocated");
      // The same table seen by a new allocator (a restart): nothing is lost.
      expect(new NodePortAllocator(sql, "30000-30039").isAllocated(30020)).toBe(true);
    }));

  it("allocates every address of a small service CIDR once, and a requested one exactly", () =>
    withSql((sql) => {
      const ips = new ClusterIPAllocator(sql, "198.18.0.0/28");
      expect(ips.allocate("198.18.0.5")).toBe("198.18.0.5");
      const got = Array.from({ length: 13 }, () => ips.allocate());
      expect(new Set([...got, "198.18.0.5"]).size).toBe(14);
      expect(got).not.toContain("198.18.0.0");
      expect(got).not.toContain("198.18.0.15");
      expect(() => ips.allocate()).toThrow("range is full");
    }));
});
