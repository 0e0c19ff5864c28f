// One switch for the size of the suites that have a short and a full form:
// SVCEDGE_SOAK=1 (`npm run soak`) runs them full size, anything else (`npm test`)
// short. workerd sees no process environment: vitest.config.ts hands the flag to
// the worker project with `provide`; the node project reads it directly.
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** SVCEDGE_SOAK=1 in the environment vitest ran in. */
    soak: boolean;
  }
}

/** True when the suites run at full size. */
export const SOAK: boolean = inject("soak") ?? globalThis.process?.env?.SVCEDGE_SOAK === "1";

/** `short` under `npm test`, `full` under SVCEDGE_SOAK=1. */
export const bySize = <T>(short: T, full: T): T => (SOAK ? full : short);
