// The official Python client (Debian's python3-kubernetes, for /usr/bin/python3) against
// the Worker under `wrangler dev`: Watch().stream over a namespace's Services, DynamicClient
// discovery and CRUD, and utils.create_from_yaml with the seed manifest. The scripts live in
// python-client/ and print one JSON line per finding. Under REQUIRE_CLIENTS=1 or
// REQUIRE_KUBECTL=1 (CI) a missing client fails the suite instead of skipping it.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED_MANIFEST } from "../api/seed-manifest";
import { startLocalWorker, type LocalWorker } from "./local-worker";

/** Debian's python modules belong to the system interpreter, not to a python3 earlier on PATH. */
const PYTHON = "/usr/bin/python3";
const SCRIPTS = resolve(import.meta.dirname, "python-client");
const REQUIRED = process.env.REQUIRE_CLIENTS === "1" || process.env.REQUIRE_KUBECTL === "1";
/** A script that has not finished by then is stuck (a watch that never delivers, a retry loop). */
const SCRIPT_TIMEOUT_MS = 45_000;

function pythonClientVersion(): string | undefined {
  try {
    return execFileSync(PYTHON, ["-c", "import kubernetes; print(kubernetes.__version__)"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

const VERSION = pythonClientVersion();

if (!VERSION && REQUIRED) {
  it("finds the Python client (REQUIRE_CLIENTS=1)", () => {
    expect.fail(`${PYTHON} cannot import kubernetes, and REQUIRE_CLIENTS=1 requires it (apt-get install python3-kubernetes)`);
  });
}

describe.skipIf(!VERSION)(`the Python client ${VERSION ?? ""} against the admin API`, () => {
  let worker: LocalWorker;
  let dir: string;
  let namespaces = 0;

  beforeAll(async () => {
    worker = await startLocalWorker();
    dir = mkdtempSync(join(tmpdir(), "svcedge-python-"));
  });
  afterAll(async () => {
    await worker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function namespace(): Promise<string> {
    const name = `py-${namespaces++}`;
    const res = await fetch(`${worker.url}/api/v1/namespaces`, {
      method: "POST",
      headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }),
    });
    expect(res.status).toBe(201);
    return name;
  }

  /** Runs a script; it must exit 0 with nothing on stderr. Returns its JSON lines. */
  async function python(script: string, ns: string, ...args: string[]): Promise<Record<string, any>[]> {
    const env = { ...process.env, SVCEDGE_URL: worker.url, SVCEDGE_TOKEN: worker.adminToken, SVCEDGE_NAMESPACE: ns, PYTHONDONTWRITEBYTECODE: "1", TMPDIR: dir };
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const child = execFile(
        PYTHON,
        [join(SCRIPTS, script), ...args],
        { cwd: SCRIPTS, env, timeout: SCRIPT_TIMEOUT_MS, encoding: "utf8" },
        (err, stdout, stderr) => done({ code: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
    expect(stderr, `${script}: stderr`).toBe("");
    expect(code, `${script} exited ${code}: ${stdout}`).toBe(0);
    return stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
  }

  it("Watch().stream sees each change to a namespace's Services once, in order, on one watch", async () => {
    const events = await python("watch_services.py", await namespace());
    expect(events.map((e) => [e.type, e.name])).toEqual([
      ["ADDED", "first"],
      ["ADDED", "second"],
      ["MODIFIED", "first"],
      ["DELETED", "second"],
    ]);
    expect(events[2]!.labels).toEqual({ changed: "yes" });
    const versions = events.map((e) => Number(e.resourceVersion));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
  });

  it("DynamicClient discovers the served kinds and drives a Service through create, get, list, patch, replace and delete", async () => {
    const ns = await namespace();
    const steps = Object.fromEntries((await python("dynamic_client.py", ns)).map(({ step, ...rest }) => [step, rest]));
    expect(steps["api-versions"]).toEqual({ versions: ["v1"] });
    expect(steps["api-group"]).toEqual({ name: "discovery.k8s.io" });
    expect(steps.discovery).toEqual({ services: ["services", true, ["svc"]], slices: "endpointslices", leases: "leases" });
    expect(steps).toHaveProperty("no-deployments");
    expect(steps.create!.clusterIP).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(steps.create!.ports).toEqual([80, 443]);
    expect(steps.get).toEqual({ uid: true });
    expect(steps.list).toEqual({ kind: "ServiceList", names: ["dyn"] });
    expect(steps["merge-patch"]).toEqual({ labels: { tier: "web" } });
    expect(steps["strategic-patch"]).toEqual({
      ports: [
        [80, 80],
        [443, 8443],
      ],
    });
    expect(steps.replace).toEqual({ annotations: { note: "replaced" }, resourceVersionChanged: true });
    expect(steps.delete).toEqual({ kind: "Service" });
    expect(steps.gone).toEqual({ status: 404 });
  });

  it("utils.create_from_yaml creates the seed manifest's Service; a second run fails with 409", async () => {
    const ns = await namespace();
    const seed = join(dir, "seed.yaml");
    writeFileSync(seed, SEED_MANIFEST);
    const steps = Object.fromEntries((await python("create_from_yaml.py", ns, seed)).map(({ step, ...rest }) => [step, rest]));
    expect(steps.created).toEqual({ kinds: ["Service"] });
    expect(steps.read!.ports).toEqual([
      ["http", "TCP", 8080, 80],
      ["https", "TCP", 8443, 443],
    ]);
    expect(steps.again).toEqual({ statuses: [409] });
  });
});
