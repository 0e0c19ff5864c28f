// Label selectors with the grammar and error messages of
// k8s.io/apimachinery/pkg/labels (Parse, SelectorFromSet, Requirement.Matches):
//   a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a, a>1, a<1, joined by commas.
import { isQualifiedName, isValidLabelValue } from "./apimachinery-validation";
import { ownValue } from "./plain-data";

export type Operator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export interface LabelSelector {
  /** All must match (AND). Sorted by key, as apimachinery sorts them. */
  requirements: Requirement[];
  /** Selects no object at all: what a Service without a selector (or with an empty one) selects. */
  nothing?: boolean;
}

export type ParseResult = { ok: true; selector: LabelSelector } | { ok: false; message: string };

// ---- lexer ----

type Token = "id" | "in" | "notin" | "(" | ")" | "," | "!" | "=" | "==" | "!=" | ">" | "<" | "eos";

const KEYWORDS: Record<string, Token> = { in: "in", notin: "notin" };
const SYMBOLS: Token[] = ["!=", "==", "!", "=", "(", ")", ",", ">", "<"];
const isSpace = (c: string): boolean => c === " " || c === "\t" || c === "\r" || c === "\n";
const isSpecial = (c: string): boolean => "=!(),<>".includes(c);

interface Lexeme {
  tok: Token;
  lit: string;
}

function lex(s: string): Lexeme[] {
  const out: Lexeme[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (isSpace(c)) {
      i++;
    } else if (isSpecial(c)) {
      // Longest symbol first: "!=" before "!", "==" before "=".
      const sym = SYMBOLS.find((t) => s.startsWith(t, i))!;
      out.push({ tok: sym, lit: sym });
      i += sym.length;
    } else {
      let j = i;
      while (j < s.length && !isSpace(s[j]!) && !isSpecial(s[j]!)) j++;
      const word = s.slice(i, j);
      out.push({ tok: (ownValue(KEYWORDS, word) as Token | undefined) ?? "id", lit: word });
      i = j;
    }
  }
  out.push({ tok: "eos", lit: "" });
  return out;
}

// ---- parser ----

class SelectorError extends Error {}

/** Values context: `in` and `notin` are ordinary words there (e.g. `a=in`). */
const asValue = (l: Lexeme): Lexeme => (l.tok === "in" || l.tok === "notin" ? { tok: "id", lit: l.lit } : l);

const BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt";

class Parser {
  private pos = 0;
  constructor(private readonly lexemes: Lexeme[]) {}

  private peek(values: boolean): Lexeme {
    const l = this.lexemes[this.pos]!;
    return values ? asValue(l) : l;
  }
  private next(values: boolean): Lexeme {
    const l = this.peek(values);
    if (l.tok !== "eos") this.pos++;
    return l;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const { tok, lit } = this.peek(true);
      if (tok === "eos") return reqs;
      if (tok !== "id" && tok !== "!") throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.requirement());
      } catch (e) {
        throw new SelectorError(`unable to parse requirement: ${(e as Error).message}`);
      }
      const after = this.next(true);
      if (after.tok === "eos") return reqs;
      if (after.tok !== ",") throw new SelectorError(`found '${after.lit}', expected: ',' or 'end of string'`);
      const following = this.peek(true);
      if (following.tok !== "id" && following.tok !== "!") throw new SelectorError(`found '${following.lit}', expected: identifier after ','`);
    }
  }

  private requirement(): Requirement {
    let { tok, lit } = this.next(true);
    let operator: Operator | undefined;
    if (tok === "!") {
      operator = "!";
      ({ tok, lit } = this.next(true));
    }
    if (tok !== "id") throw new Error(`found '${lit}', expected: identifier`);
    const keyErrs = isQualifiedName(lit);
    // apimachinery validates the key here against a nil field path, hence "<nil>".
    if (keyErrs.length) throw new Error(`<nil>: Invalid value: ${JSON.stringify(lit)}: ${keyErrs.join("; ")}`);
    const key = lit;
    const la = this.peek(true).tok;
    if (la === "eos" || la === ",") return newRequirement(key, operator ?? "exists", []);
    if (operator === "!") return newRequirement(key, "!", []);
    const op = this.operator();
    const values = op === "in" || op === "notin" ? this.setValues() : this.exactValue();
    return newRequirement(key, op, values);
  }

  private operator(): Operator {
    const { tok, lit } = this.next(false);
    switch (tok) {
      case "in":
      case "notin":
      case "=":
      case "==":
      case "!=":
        return tok;
      case ">":
        return "gt";
      case "<":
        return "lt";
      default:
        throw new Error(`found '${lit}', expected: ${BINARY_OPERATORS}`);
    }
  }

  private setValues(): string[] {
    const open = this.next(true);
    if (open.tok !== "(") throw new Error(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.peek(true);
    if (tok === ")") {
      this.next(true);
      return [""];
    }
    if (tok !== "id" && tok !== ",") throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
    const values = new Set<string>();
    for (;;) {
      const l = this.next(true);
      if (l.tok === "id") {
        values.add(l.lit);
        const after = this.peek(true);
        if (after.tok === ",") continue;
        if (after.tok === ")") break;
        throw new Error(`found '${after.lit}', expected: ',' or ')'`);
      } else if (l.tok === ",") {
        // An empty element: "(,a)" or "(a,)" or "(a,,b)".
        if (values.size === 0) values.add("");
        const after = this.peek(true);
        if (after.tok === ")") {
          values.add("");
          break;
        }
        if (after.tok === ",") {
          this.next(true);
          values.add("");
        }
      } else {
        throw new Error(`found '${l.lit}', expected: ',', or identifier`);
      }
    }
    const close = this.next(true);
    if (close.tok !== ")") throw new Error(`found '${lit}', expected: ')'`);
    return [...values].sort();
  }

  private exactValue(): string[] {
    const la = this.peek(true);
    if (la.tok === "eos" || la.tok === ",") return [""];
    const l = this.next(true);
    if (l.tok === "id") return [l.lit];
    throw new Error(`found '${l.lit}', expected: identifier`);
  }
}

/** Go's %#v of a []string, as field errors print it. */
const goStrings = (vals: string[]): string => `[]string{${vals.map((v) => JSON.stringify(v)).join(", ")}}`;

function newRequirement(key: string, operator: Operator, values: string[]): Requirement {
  const errs: string[] = [];
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length) errs.push(`key: Invalid value: ${JSON.stringify(key)}: ${keyErrs.join("; ")}`);
  if ((operator === "in" || operator === "notin") && values.length === 0) {
    errs.push(`values: Invalid value: ${goStrings(values)}: for 'in', 'notin' operators, values set can't be empty`);
  }
  if ((operator === "=" || operator === "==" || operator === "!=") && values.length !== 1) {
    errs.push(`values: Invalid value: ${goStrings(values)}: exact-match compatibility requires one single value`);
  }
  if (operator === "gt" || operator === "lt") {
    if (values.length !== 1) errs.push(`values: Invalid value: ${goStrings(values)}: for 'Gt', 'Lt' operators, exactly one value is required`);
    values.forEach((v, i) => {
      if (!/^[+-]?\d+$/.test(v)) errs.push(`values[${i}]: Invalid value: ${JSON.stringify(v)}: for 'Gt', 'Lt' operators, the value must be an integer`);
    });
  }
  values.forEach((v, i) => {
    const m = isValidLabelValue(v);
    if (m.length) errs.push(`values[${i}][${key}]: Invalid value: ${JSON.stringify(v)}: ${m.join("; ")}`);
  });
  // utilerrors.Aggregate: one error alone, several in brackets.
  if (errs.length === 1) throw new Error(errs[0]);
  if (errs.length > 1) throw new Error(`[${errs.join(", ")}]`);
  return { key, operator, values };
}

const byKey = (a: Requirement, b: Requirement): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** labels.Parse: the empty string selects everything. */
export function parseLabelSelector(s: string): ParseResult {
  try {
    const requirements = new Parser(lex(s)).parse().sort(byKey);
    return { ok: true, selector: { requirements } };
  } catch (e) {
    if (e instanceof SelectorError) return { ok: false, message: e.message };
    throw e;
  }
}

/**
 * A Service's `spec.selector` map as a selector. Unlike apimachinery's
 * SelectorFromSet (where an empty set selects everything), a missing or empty
 * map selects nothing: the endpoints controller leaves such Services alone.
 */
export function selectorFromSet(set: Record<string, string> | undefined): LabelSelector {
  const keys = Object.keys(set ?? {}).sort();
  if (keys.length === 0) return { requirements: [], nothing: true };
  return { requirements: keys.map((k) => ({ key: k, operator: "=", values: [set![k]!] })) };
}

function matchesRequirement(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.operator) {
    case "in":
    case "=":
    case "==":
      return has && r.values.includes(value!);
    case "notin":
    case "!=":
      return !has || !r.values.includes(value!);
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      if (!has || !/^[+-]?\d+$/.test(value!)) return false;
      const have = BigInt(value!);
      const want = BigInt(r.values[0]!);
      return r.operator === "gt" ? have > want : have < want;
    }
  }
}

export function matchesLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  if (sel.nothing) return false;
  const l = labels ?? {};
  return sel.requirements.every((r) => matchesRequirement(r, l));
}

/** The canonical text form (Selector.String()). */
export function labelSelectorString(sel: LabelSelector): string {
  return sel.requirements
    .map((r) => {
      switch (r.operator) {
        case "exists":
          return r.key;
        case "!":
          return `!${r.key}`;
        case "in":
        case "notin":
          return `${r.key} ${r.operator} (${r.values.join(",")})`;
        case "gt":
          return `${r.key}>${r.values[0]}`;
        case "lt":
          return `${r.key}<${r.values[0]}`;
        default:
          return `${r.key}${r.operator}${r.values[0]}`;
      }
    })
    .join(",");
}
