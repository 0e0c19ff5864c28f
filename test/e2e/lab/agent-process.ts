// The agent as a child process lives in scripts/lab/agent-process.ts (`npm run lab` runs
// its agents with it); tests import it from here.
export * from "../../../scripts/lab/agent-process";
