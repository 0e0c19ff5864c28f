// Every Worker test ends by checking that the isolate's shared prototypes are as
// they were: a request body that reaches Object.prototype (prototype pollution)
// fails whichever test sent it, even when that test only looked at a status code.
import { afterEach } from "vitest";

const watched: [string, object][] = [
  ["Object.prototype", Object.prototype],
  ["Array.prototype", Array.prototype],
  ["Function.prototype", Function.prototype],
];

const snapshot = (o: object) => new Map(Reflect.ownKeys(o).map((k) => [k, Object.getOwnPropertyDescriptor(o, k)?.value]));
const before = watched.map(([name, o]) => [name, o, snapshot(o)] as const);

afterEach(() => {
  for (const [name, o, was] of before) {
    const keys = Reflect.ownKeys(o);
    const added = keys.filter((k) => !was.has(k));
    const changed = keys.filter((k) => was.has(k) && Object.getOwnPropertyDescriptor(o, k)?.value !== was.get(k));
    if (added.length || changed.length) {
      for (const k of added) delete (o as Record<PropertyKey, unknown>)[k];
      throw new Error(`${name} was polluted: added ${added.map(String).join(", ") || "nothing"}; changed ${changed.map(String).join(", ") || "nothing"}`);
    }
  }
});
