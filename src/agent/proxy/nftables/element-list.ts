// A full sync's set and map elements, kept as data until something needs their text. At
// 10,000 Services a full sync adds about 170,000 elements: written out as nft text and read
// back by the netlink compiler, each became three or four strings and a parse. nft gets the
// same text as before (an ElementCommand's toString); the netlink compiler reads the parts.

/** Keeps each `add element` command to a size nft parses comfortably. */
export const ELEMENTS_PER_COMMAND = 1000;

/**
 * The elements of one set or map, in the order they are added. An element's key is its
 * entry, followed by ` . <index>` when it has an index (the endpoint maps' random index),
 * and a map element has a value (nft text: `10.128.0.1 . 8080`, `goto <chain>`, `drop`).
 */
export class ElementList {
  readonly entries: string[] = [];
  /** The index after each entry, or -1 when the key is the entry alone. */
  readonly indexes: number[] = [];
  /** Map elements' values, by element; empty for a set. */
  readonly values: string[] = [];

  get length(): number {
    return this.entries.length;
  }

  add(entry: string, index: number, value?: string): void {
    this.entries.push(entry);
    this.indexes.push(index);
    if (value !== undefined) this.values.push(value);
  }

  key(i: number): string {
    const index = this.indexes[i]!;
    return index < 0 ? this.entries[i]! : `${this.entries[i]} . ${index}`;
  }

  /** Element i as nft writes it inside `{ }`. */
  text(i: number): string {
    return this.values.length ? `${this.key(i)} : ${this.values[i]}` : this.key(i);
  }

  /** A list of plain keys (set elements, CIDRs). */
  static of(keys: Iterable<string>): ElementList {
    const list = new ElementList();
    for (const key of keys) list.add(key, -1);
    return list;
  }
}

/** `add element <table> <container> { … }` for elements [from, to) of a list; its text is made when asked for. */
export class ElementCommand {
  constructor(
    readonly table: string,
    readonly container: string,
    readonly list: ElementList,
    readonly from: number,
    readonly to: number,
  ) {}

  toString(): string {
    const items: string[] = [];
    for (let i = this.from; i < this.to; i++) items.push(this.list.text(i));
    return `add element ${this.table} ${this.container} { ${items.join(", ")} }\n`;
  }
}

/** A piece of a full-sync transaction: nft text, or elements that become text when asked. */
export type NftPiece = string | ElementCommand;

/** The commands adding a list's elements, at most ELEMENTS_PER_COMMAND each. */
export function* elementCommands(table: string, container: string, list: ElementList): Generator<ElementCommand> {
  for (let i = 0; i < list.length; i += ELEMENTS_PER_COMMAND)
    yield new ElementCommand(table, container, list, i, Math.min(i + ELEMENTS_PER_COMMAND, list.length));
}

/** The pieces as text, one string per piece (for `nft -f -`). */
export function* nftText(pieces: Iterable<NftPiece>): Generator<string> {
  for (const piece of pieces) yield String(piece);
}
