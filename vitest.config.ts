import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

/**
 * The Worker's files share a workerd (one per vitest worker, isolate: false) instead of starting one
 * per file, which took two thirds of the suite's time; fresh-cluster.ts gives each file an empty
 * cluster and a new isolate's state all the same.
 */
const WORKER_SETUP_FILES = ["test/setup/fresh-cluster.ts", "test/setup/prototypes-untouched.ts"];

/**
 * The node files that use fixed host resources: the README's commands (`npm start` on its default
 * ports 8787/8788) and the lab (its API on 8787, `sudo npm run lab`). They run one at a time, after
 * the rest (vitest's sequential group). Every other node file takes free ports and namespaces named
 * for its own process (scripts/lab/netns.ts), so it runs beside the Worker's files and the others.
 */
const NODE_SERIAL_FILES = ["test/e2e/readme.test.ts", "test/e2e/readme-npm-start.test.ts", "test/e2e/lab.test.ts", "test/e2e/lab-command.test.ts"];

/**
 * The Worker's suites that replay against other service CIDRs than wrangler.toml's single-stack IPv4
 * (files named *.clusters.test.ts; the plain worker project runs them all), each with the files that
 * hold cases for that cluster: a case that does not apply to a cluster is not defined there, not skipped.
 */
const clusterFile = (name: string) => `test/registry/service-${name}.clusters.test.ts`;
const OTHER_CLUSTERS: Record<string, { cidrs: string; files: string[] }> = {
  "worker-dual-stack": {
    cidrs: "10.96.0.0/12,2001:db8:96::/108",
    files: ["validation", "update", "type-transitions", "dual-stack", "ip-families"].map(clusterFile),
  },
  "worker-dual-stack-ipv6-primary": { cidrs: "2001:db8:96::/108,10.96.0.0/12", files: ["ip-families"].map(clusterFile) },
  "worker-ipv6": { cidrs: "2001:db8:96::/108", files: ["dual-stack", "ip-families"].map(clusterFile) },
};

const otherCluster = ([name, { cidrs, files }]: [string, { cidrs: string; files: string[] }]) => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      verbose: false,
      miniflare: { bindings: { ADMIN_TOKEN: "test-admin-token", CLUSTER_TOKEN: "test-cluster-token", SERVICE_CIDR: cidrs, KV_WRITE_INTERVAL_MS: "100" } },
    }),
  ],
  test: { name, include: files, setupFiles: WORKER_SETUP_FILES, isolate: false, testTimeout: 20_000 },
});

// Two projects: the Worker's code runs inside workerd (through the Workers Vitest
// integration, with real local KV and Durable Object storage); the node agent and
// the end-to-end suites run in Node, against real processes.
export default defineConfig({
  test: {
    // Two files at a time even on 2 cores (vitest's default is one fewer than the cores): most of a
    // node file's time is spent waiting on the processes it started.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // As wrangler dev: workerd's verbose mode logs a refused fetch() with a stack even when our code catches it.
            verbose: false,
            miniflare: {
              // The test pods listen on 127.0.0.1, which the gateway refuses to fetch unless told otherwise.
              // The KV replica flushes every 100 ms instead of every second, so that flushKv does not wait a second a loop.
              // Lists page every 3 objects, so every list test crosses RPC pages (src/admin/list-response.ts).
              bindings: {
                ADMIN_TOKEN: "test-admin-token",
                CLUSTER_TOKEN: "test-cluster-token",
                NODE_LEASE_GRACE_SECONDS: "1",
                GATEWAY_ALLOW_LOCAL_ORIGINS: "true",
                LIST_RPC_PAGE_ITEMS: "3",
                WATCH_BOOKMARK_INTERVAL_SECONDS: "1",
                KV_WRITE_INTERVAL_MS: "100",
              },
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/{api,registry,admin,gateway}/**/*.test.ts"],
          globalSetup: ["test/gateway/pods.setup.ts"],
          setupFiles: WORKER_SETUP_FILES,
          isolate: false,
          testTimeout: 20_000,
          // The admin API fuzzer's seed and case count (test/admin/fuzz.test.ts; `npm run soak` raises the count).
          provide: { fuzz: { seed: process.env.FUZZ_SEED ?? "", cases: process.env.FUZZ_CASES ?? "" }, soak: process.env.SVCEDGE_SOAK === "1" },
        },
      },
      ...Object.entries(OTHER_CLUSTERS).map(otherCluster),
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/{agent,e2e}/**/*.test.ts"],
          exclude: NODE_SERIAL_FILES,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "node-serial",
          environment: "node",
          include: NODE_SERIAL_FILES,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
