// Lets Node run the agent's TypeScript straight from src/ (type stripping, Node >= 22.18):
// the sources import siblings without an extension, as the bundler-style tsconfig allows,
// so a relative import that does not resolve is retried with ".ts" and "/index.ts".
import { registerHooks } from "node:module";

const RELATIVE = /^\.{1,2}\//;

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!RELATIVE.test(specifier) || /\.[cm]?[jt]s$/.test(specifier) || !context.parentURL?.endsWith(".ts")) throw error;
      for (const suffix of [".ts", "/index.ts"]) {
        try {
          return nextResolve(specifier + suffix, context);
        } catch {
          // try the next form
        }
      }
      throw error;
    }
  },
});
