// The live benchmark's workload: the seeded change each client makes every tick, and the
// canonical form of a list that convergence is checked on.
//
// Each client has its own mulberry32 PRNG (bench/crdt/stream.ts; no Math.random) seeded from the
// run's seed and its number, so every system runs the same generator with the same seeds. A change
// is chosen against the client's current view (which includes everyone's changes it has seen), so
// it is always valid there: add an item (a name from a shared pool of 120, so clients add to and
// re-add each other's items), change a quantity (increase, decrease, set), buy units, or remove an
// item. Adds and removes steer the list towards about TARGET_ITEMS live items. Concurrent changes
// conflict often (16 clients, 80 changes/s, ~40 items): each CRDT resolves them its own way, and
// all that is checked is that every client ends with the same list.

import { keyOf, type Model, type Op, type Rng } from '../crdt/stream.ts';

export const TARGET_ITEMS = 40;

// prettier-ignore
const adjectives = ['Fresh', 'Organic', 'Frozen', 'Green', 'Red', 'Sweet', 'Smoked', 'Whole', 'Greek', 'Wild', 'Plain', 'Mini'];
// prettier-ignore
const nouns = ['Milk', 'Bread', 'Eggs', 'Apples', 'Rice', 'Coffee', 'Salmon', 'Beans', 'Cheese', 'Tomatoes'];

/** The shared pool of item names (120). */
export const NAMES: readonly string[] = adjectives.flatMap((a) => nouns.map((n) => `${a} ${n}`));

/** A per-client seed from the run's seed (distinct, well mixed). */
export function clientSeed(runSeed: number, client: number): number {
  let h = Math.imul(runSeed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(client + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

/** The next change of a client whose list reads `view`. */
export function nextOp(rng: Rng, view: Model): Op {
  // Keys sorted, so the choice does not depend on a library's iteration order.
  const keys = [...view.keys()].sort();
  const below = keys.length < TARGET_ITEMS;
  const wAdd = below ? 0.4 : 0.15;
  const wRemove = below ? 0.1 : 0.35;
  const wQuantity = 0.3;
  const wBuy = 0.2;
  const x = rng.next() * (wAdd + wRemove + wQuantity + wBuy);
  if (keys.length === 0 || x < wAdd) return add(rng, view);

  const key = rng.pick(keys);
  const item = view.get(key);
  if (item === undefined) throw new Error(`view lost ${key}`);
  const name = item.name;
  if (x < wAdd + wRemove) return { kind: 'remove', key, name };
  if (x < wAdd + wRemove + wQuantity) {
    const y = rng.next();
    if (y < 0.4) return { kind: 'increase', key, name, by: rng.int(1, 3) };
    if (y < 0.7 && item.wanted > 0)
      return { kind: 'decrease', key, name, by: rng.int(1, Math.min(3, item.wanted)) };
    let to = rng.int(0, 12);
    if (to === item.wanted) to += 1; // never a no-op
    return { kind: 'set', key, name, to };
  }
  const remaining = item.wanted - item.bought;
  return { kind: 'buy', key, name, units: remaining > 0 ? rng.int(1, Math.min(remaining, 4)) : 1 };
}

function add(rng: Rng, view: Model): Op {
  const qty = rng.int(1, 6);
  // Mostly a name not on the list; sometimes more of one that is.
  const absent = NAMES.filter((n) => !view.has(keyOf(n)));
  const name = absent.length > 0 && rng.chance(0.8) ? rng.pick(absent) : rng.pick(NAMES);
  const key = keyOf(name);
  const existing = view.get(key);
  return { kind: 'add', key, name: existing?.name ?? name, qty };
}

/** The list in a canonical form: items sorted by key, as [key, name, wanted, bought]. */
export function canonical(view: Model): string {
  const rows = [...view]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, v]) => [key, v.name, v.wanted, v.bought]);
  return JSON.stringify(rows);
}
