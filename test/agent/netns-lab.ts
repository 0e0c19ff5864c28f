// The namespace lab lives in scripts/lab/netns.ts (`npm run lab` builds on it); the agent's
// tests and the benchmarks import it from here.
export * from "../../scripts/lab/netns";
