// The seeded operation stream of the CRDT benchmark, and the plain reference model that every
// implementation is checked against.
//
// What it produces: a list of plain-data operations (add item with a quantity, increase /
// decrease / set the wanted quantity, buy units, remove item), generated once per profile from a
// seeded PRNG (mulberry32; no Math.random) so that Trolley, Yjs and Automerge run exactly the
// same operations. Every operation is valid against the model at its point in the stream: only
// items that exist are bought, changed or removed, a decrease never takes the wanted quantity
// below zero, and no operation is a no-op (a "set" always changes the value), so every operation
// produces exactly one update in every implementation.
//
// Profiles: "small" hovers around 50 live items (adds and removes balance once it gets there);
// "large" ramps to about 2,600 live items (mostly adds of new names, fewer removes).
//
// Merge branches: two branches fork from one model and each continues with its own seeded RNG,
// valid against its own branch model. They avoid the conflicts whose resolution legitimately
// differs between the three CRDTs (remove vs a concurrent edit: Trolley's add-wins map keeps the
// edit, Yjs and Automerge drop it; two concurrent "set"s: Trolley keeps the greater, the counter
// baselines add both differences; a concurrent first add of one name: one baselines' map entry
// wins, Trolley joins both). Each branch owns a third of the items alive at the fork (it alone may
// remove, set or decrease them) plus the items it creates; the last third is shared and both
// branches increase and buy those concurrently (counters, where all three agree). So the merged
// list is well defined and equals the base model with both branches' operations replayed.

// ---- PRNG --------------------------------------------------------------------------------------

/** mulberry32: a small, fast, seeded 32-bit PRNG. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty array');
    return xs[Math.floor(this.next() * xs.length)] as T;
  }

  uint32(): number {
    return Math.floor(this.next() * 2 ** 32) >>> 0;
  }

  fill(bytes: Uint8Array): Uint8Array {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(this.next() * 256);
    return bytes;
  }
}

// ---- operations and the reference model ----------------------------------------------------------

/**
 * One operation. `key` is the normalised name (the item's identity); `name` is what the user
 * typed: for adds the item's display name, for other operations any spelling of it (case and
 * spacing vary, to exercise normalisation in Trolley; the baselines use `key`).
 */
export type Op =
  | { kind: 'add'; key: string; name: string; qty: number }
  | { kind: 'increase'; key: string; name: string; by: number }
  | { kind: 'decrease'; key: string; name: string; by: number }
  | { kind: 'set'; key: string; name: string; to: number }
  | { kind: 'buy'; key: string; name: string; units: number }
  | { kind: 'remove'; key: string; name: string };

export type OpKind = Op['kind'];

export interface ItemState {
  name: string;
  wanted: number;
  bought: number;
}

/** The list as a person sees it: normalised key → display name and quantities. */
export type Model = Map<string, ItemState>;

/** Key of an ASCII name: trimmed, inner whitespace collapsed, lower case (Trolley's normaliseName). */
export const keyOf = (name: string): string => name.trim().replace(/\s+/g, ' ').toLowerCase();

export function cloneModel(m: Model): Model {
  return new Map([...m].map(([k, v]) => [k, { ...v }]));
}

/** Applies one operation to the reference model; throws if the operation is invalid there. */
export function applyOp(model: Model, op: Op): void {
  const item = model.get(op.key);
  if (op.kind === 'add') {
    if (item === undefined) model.set(op.key, { name: op.name, wanted: op.qty, bought: 0 });
    else item.wanted += op.qty;
    return;
  }
  if (item === undefined) throw new Error(`invalid op: ${op.kind} of absent item ${op.key}`);
  switch (op.kind) {
    case 'increase':
      item.wanted += op.by;
      return;
    case 'decrease':
      if (op.by > item.wanted) throw new Error(`invalid op: decrease below zero on ${op.key}`);
      item.wanted -= op.by;
      return;
    case 'set':
      item.wanted = op.to;
      return;
    case 'buy':
      item.bought += op.units;
      return;
    case 'remove':
      model.delete(op.key);
      return;
  }
}

export function replay(ops: readonly Op[], start: Model = new Map()): Model {
  const m = cloneModel(start);
  for (const op of ops) applyOp(m, op);
  return m;
}

/** Differences between two models, as readable lines (at most `max`). Empty: they agree. */
export function diffModels(got: Model, want: Model, max = 5): string[] {
  const out: string[] = [];
  const say = (s: string): void => {
    if (out.length < max) out.push(s);
  };
  if (got.size !== want.size) say(`${got.size} items, expected ${want.size}`);
  for (const [key, w] of want) {
    const g = got.get(key);
    if (g === undefined) say(`missing ${JSON.stringify(key)}`);
    else if (g.name !== w.name || g.wanted !== w.wanted || g.bought !== w.bought)
      say(`${JSON.stringify(key)}: got ${JSON.stringify(g)}, expected ${JSON.stringify(w)}`);
  }
  for (const key of got.keys()) if (!want.has(key)) say(`unexpected ${JSON.stringify(key)}`);
  return out;
}

// ---- profiles ----------------------------------------------------------------------------------

export interface Profile {
  readonly name: 'small' | 'large';
  readonly ops: number;
  /** Live items the stream steers towards at step i. */
  target(i: number): number;
  /** [add, remove] weights when below / at-or-above the target; the rest are changes and buys. */
  readonly below: readonly [number, number];
  readonly above: readonly [number, number];
}

const OPS = 10_000;

export const profiles: Record<Profile['name'], Profile> = {
  small: { name: 'small', ops: OPS, target: () => 50, below: [0.32, 0.08], above: [0.08, 0.32] },
  large: {
    name: 'large',
    ops: OPS,
    target: (i) => (2_600 * (i + 1)) / OPS,
    below: [0.36, 0.04],
    above: [0.26, 0.14],
  },
};

/** Weights of the non-structural operations (their sum is 1 − add − remove = 0.6). */
const CHANGE_WEIGHT = 0.35; // increase / decrease / set, split below
const BUY_WEIGHT = 0.25;

// ---- names -------------------------------------------------------------------------------------

// prettier-ignore
const adjectives = [
  'Organic', 'Whole', 'Fresh', 'Frozen', 'Smoked', 'Sparkling', 'Ripe', 'Green', 'Red', 'Sweet',
  'Spicy', 'Salted', 'Unsalted', 'Low Fat', 'Free Range', 'Wholegrain', 'Dark', 'Baby', 'Greek',
  'Italian', 'Roasted', 'Plain', 'Vanilla', 'Lemon', 'Garlic', 'Honey', 'Oat', 'Almond', 'Wild',
  'Mini',
];
// prettier-ignore
const nouns = [
  'Milk', 'Bread', 'Eggs', 'Butter', 'Cheese', 'Yoghurt', 'Apples', 'Bananas', 'Pears', 'Grapes',
  'Lemons', 'Limes', 'Onions', 'Carrots', 'Potatoes', 'Tomatoes', 'Peppers', 'Spinach', 'Lettuce',
  'Cucumber', 'Rice', 'Pasta', 'Noodles', 'Flour', 'Sugar', 'Salt', 'Coffee', 'Tea', 'Juice',
  'Water', 'Salmon', 'Chicken', 'Beef', 'Tofu', 'Beans', 'Lentils', 'Chickpeas', 'Olives', 'Hummus',
  'Crackers', 'Cereal', 'Granola', 'Jam', 'Peanut Butter', 'Chocolate', 'Cookies', 'Crisps',
  'Ice Cream', 'Soap', 'Shampoo', 'Toothpaste', 'Sponges', 'Bin Bags', 'Foil', 'Napkins',
  'Batteries', 'Candles', 'Mushrooms', 'Garlic Bread', 'Pesto',
];
const sizes = ['', ' 500g', ' 1kg', ' 2L', ' 6-pack', ' x2', ' Large', ' Family Size'];

/** Unique display names ("Ripe Bananas 1kg"), optionally with a prefix ("Ann's …"). */
class NameSource {
  private readonly used = new Set<string>();
  private serial = 0;

  constructor(
    private readonly rng: Rng,
    private readonly prefix = '',
  ) {}

  next(): string {
    for (let attempt = 0; attempt < 20; attempt++) {
      const name = `${this.prefix}${this.rng.pick(adjectives)} ${this.rng.pick(nouns)}${this.rng.pick(sizes)}`;
      if (this.claim(name)) return name;
    }
    for (;;) {
      const name = `${this.prefix}${this.rng.pick(nouns)} no. ${++this.serial}`;
      if (this.claim(name)) return name;
    }
  }

  private claim(name: string): boolean {
    const key = keyOf(name);
    if (this.used.has(key)) return false;
    this.used.add(key);
    return true;
  }
}

/** A set of keys with O(1) add, delete and uniform random pick. */
class KeySet {
  private readonly keys: string[] = [];
  private readonly at = new Map<string, number>();

  constructor(keys: Iterable<string> = []) {
    for (const k of keys) this.add(k);
  }

  get size(): number {
    return this.keys.length;
  }

  has(k: string): boolean {
    return this.at.has(k);
  }

  add(k: string): void {
    if (this.at.has(k)) return;
    this.at.set(k, this.keys.length);
    this.keys.push(k);
  }

  delete(k: string): void {
    const i = this.at.get(k);
    if (i === undefined) return;
    const last = this.keys.pop() as string;
    if (last !== k) {
      this.keys[i] = last;
      this.at.set(last, i);
    }
    this.at.delete(k);
  }

  /** A random key satisfying `ok`, by rejection sampling; undefined if none found quickly. */
  pick(rng: Rng, ok: (k: string) => boolean): string | undefined {
    if (this.keys.length === 0) return undefined;
    for (let attempt = 0; attempt < 40; attempt++) {
      const k = rng.pick(this.keys);
      if (ok(k)) return k;
    }
    return undefined;
  }
}

// ---- the generator -----------------------------------------------------------------------------

/** Which items a generator may touch (all of them, except in merge branches). */
export interface Policy {
  /** May remove, set, decrease and re-add this key. */
  readonly owns: (key: string) => boolean;
  /** May increase, buy and add more of this key while it is live. */
  readonly shares: (key: string) => boolean;
}

const everything: Policy = { owns: () => true, shares: () => true };

export class StreamGenerator {
  readonly model: Model;
  private readonly live: KeySet;
  private readonly removed: KeySet;
  /** Removed key → the display name it had, so that a re-add types it the same way. */
  private readonly removedNames: Map<string, string>;
  private readonly names: NameSource;
  private step = 0;

  constructor(
    private readonly rng: Rng,
    private readonly profile: Profile,
    start: { model: Model; removed: ReadonlyMap<string, string>; step: number } = {
      model: new Map(),
      removed: new Map(),
      step: 0,
    },
    private readonly policy: Policy = everything,
    namePrefix = '',
  ) {
    this.model = cloneModel(start.model);
    this.live = new KeySet(this.model.keys());
    this.removedNames = new Map(start.removed);
    this.removed = new KeySet(this.removedNames.keys());
    this.step = start.step;
    this.names = new NameSource(rng, namePrefix);
  }

  /** A branch continuing from this generator's current point with its own RNG and rules. */
  fork(seed: number, policy: Policy, namePrefix: string): StreamGenerator {
    return new StreamGenerator(
      new Rng(seed),
      this.profile,
      { model: this.model, removed: this.removedNames, step: this.step },
      policy,
      namePrefix,
    );
  }

  take(n: number): Op[] {
    const ops: Op[] = [];
    for (let i = 0; i < n; i++) ops.push(this.next());
    return ops;
  }

  next(): Op {
    const op = this.choose();
    if (op.kind === 'remove') {
      this.removedNames.set(op.key, this.item(op.key).name);
      this.live.delete(op.key);
      this.removed.add(op.key);
    } else if (op.kind === 'add') {
      this.removedNames.delete(op.key);
      this.live.add(op.key);
      this.removed.delete(op.key);
    }
    applyOp(this.model, op);
    this.step++;
    return op;
  }

  private choose(): Op {
    const { rng, policy } = this;
    const [wAdd, wRemove] =
      this.live.size < this.profile.target(this.step) ? this.profile.below : this.profile.above;
    const x = rng.next() * (wAdd + wRemove + CHANGE_WEIGHT + BUY_WEIGHT);
    const mayTouch = (k: string): boolean => policy.owns(k) || policy.shares(k);

    if (x < wAdd) return this.add();
    if (x < wAdd + wRemove) {
      const key = this.live.pick(rng, policy.owns);
      return key === undefined ? this.add() : { kind: 'remove', key, name: this.spelling(key) };
    }
    if (x < wAdd + wRemove + CHANGE_WEIGHT) {
      const y = rng.next();
      if (y < 0.3) {
        const key = this.live.pick(rng, (k) => policy.owns(k) && this.item(k).wanted > 0);
        if (key !== undefined) {
          const by = rng.int(1, Math.min(3, this.item(key).wanted));
          return { kind: 'decrease', key, name: this.spelling(key), by };
        }
      } else if (y < 0.6) {
        const key = this.live.pick(rng, policy.owns);
        if (key !== undefined) {
          const current = this.item(key).wanted;
          let to = rng.int(0, 12);
          if (to === current) to = current + 1; // never a no-op
          return { kind: 'set', key, name: this.spelling(key), to };
        }
      }
      const key = this.live.pick(rng, mayTouch);
      if (key === undefined) return this.add();
      return { kind: 'increase', key, name: this.spelling(key), by: rng.int(1, 4) };
    }
    const key = this.live.pick(rng, mayTouch);
    if (key === undefined) return this.add();
    const { wanted, bought } = this.item(key);
    const remaining = wanted - bought;
    // Mostly buy some of what remains; sometimes more than wanted ("bought 3 of 2").
    const units = remaining > 0 && rng.chance(0.85) ? rng.int(1, Math.min(remaining, 6)) : rng.int(1, 2);
    return { kind: 'buy', key, name: this.spelling(key), units };
  }

  private add(): Op {
    const { rng, policy } = this;
    const qty = rng.int(1, 6);
    const y = rng.next();
    if (y < 0.15) {
      const key = this.live.pick(rng, (k) => policy.owns(k) || policy.shares(k));
      if (key !== undefined) return { kind: 'add', key, name: this.item(key).name, qty };
    } else if (y < 0.25) {
      const key = this.removed.pick(rng, policy.owns);
      if (key !== undefined) return { kind: 'add', key, name: this.lastName(key), qty };
    }
    const name = this.names.next();
    return { kind: 'add', key: keyOf(name), name, qty };
  }

  private lastName(key: string): string {
    return this.removedNames.get(key) ?? key;
  }

  private item(key: string): ItemState {
    const it = this.model.get(key);
    if (it === undefined) throw new Error(`generator lost item ${key}`);
    return it;
  }

  /** One of several spellings of a live item's name, all with the same key. */
  private spelling(key: string): string {
    const name = this.item(key).name;
    switch (this.rng.int(0, 5)) {
      case 0:
        return name.toLowerCase();
      case 1:
        return name.toUpperCase();
      case 2:
        return `  ${name.replace(/ /g, '   ')} `;
      default:
        return name;
    }
  }
}

export function generateStream(profile: Profile, seed: number): Op[] {
  return new StreamGenerator(new Rng(seed), profile).take(profile.ops);
}

// ---- merge scenario ----------------------------------------------------------------------------

export interface MergeScenario {
  /** Applied on both replicas (shipped from A to B) before they diverge. */
  base: Op[];
  /** Performed on A only, then on B only. */
  branchA: Op[];
  branchB: Op[];
  modelA: Model;
  modelB: Model;
  /** The list after merging: the base with both branches replayed. */
  merged: Model;
}

/** FNV-1a, to split the items alive at the fork between the branches. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function mergeScenario(seed: number, baseOps: number, branchOps: number): MergeScenario {
  const trunk = new StreamGenerator(new Rng(seed), profiles.small);
  const base = trunk.take(baseOps);
  const prefixes = ["Ann's ", "Bob's "] as const;
  const prefixKeys = prefixes.map(keyOf);
  const policy = (me: 0 | 1): Policy => {
    const mine = prefixKeys[me] as string;
    const fromBranch = (k: string): boolean => prefixKeys.some((p) => k.startsWith(p));
    return {
      owns: (k) => k.startsWith(mine) || (!fromBranch(k) && hash(k) % 3 === me),
      shares: (k) => !fromBranch(k) && hash(k) % 3 === 2,
    };
  };
  const a = trunk.fork(seed + 1, policy(0), prefixes[0]);
  const b = trunk.fork(seed + 2, policy(1), prefixes[1]);
  const branchA = a.take(branchOps);
  const branchB = b.take(branchOps);
  const merged = replay([...branchA, ...branchB], trunk.model);
  return { base, branchA, branchB, modelA: a.model, modelB: b.model, merged };
}

/** Counts of each kind of operation, and live items at the end. */
export function describe(
  ops: readonly Op[],
  start: Model = new Map(),
): { kinds: Record<OpKind, number>; live: number } {
  const kinds: Record<OpKind, number> = { add: 0, increase: 0, decrease: 0, set: 0, buy: 0, remove: 0 };
  for (const op of ops) kinds[op.kind]++;
  return { kinds, live: replay(ops, start).size };
}
