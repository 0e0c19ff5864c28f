// Global setup for the worker tests: real HTTP servers on loopback act as pods.
// (Filled in by the gateway suite; kept minimal so the worker project has a setup file.)
import type { TestProject } from "vitest/node";

export default function setup(_project: TestProject): () => void {
  return () => {};
}
