// The seeded workload of the history benchmark: a household's shopping list, shared by three
// devices, through a week of use.
//
// What it produces: plain-data actions (add, increase, buy some, check off, remove, rename the
// list), each done by one of the devices, generated once from a seeded PRNG (no Math.random) and
// valid against a plain model of the list at its point in the stream: only present items are
// changed, bought or removed, a check-off only of an item with something left to buy, a rename
// always to another title, so that no action is a no-op and every one makes a history entry when
// the device has a name. The list hovers around ITEMS_TARGET live items (adds of new names and
// removals balance once it is there). Each action carries the wall clock of its device: actions
// come 5–90 s apart, and each device's clock is off by its own few seconds.
//
// Two divergent branches (for the merge figures) continue from the end of the stream on two of the
// devices, each valid against its own copy of the model, each with its own seeded PRNG.

import { Rng } from '../crdt/stream.ts';

export type Action =
  | { kind: 'add'; name: string; qty: number }
  | { kind: 'increase'; name: string; by: number }
  | { kind: 'buy'; name: string; units: number }
  | { kind: 'check'; name: string }
  | { kind: 'remove'; name: string }
  | { kind: 'rename'; title: string };

/** An action, the device (0, 1 or 2) that does it, and the device's wall clock then (ms). */
export interface Step {
  device: number;
  atMs: number;
  action: Action;
}

/** The list as the model sees it: normalised name → wanted and bought. */
type Model = { title: string; items: Map<string, { name: string; wanted: number; bought: number }> };

export const DEVICE_NAMES = ['Ana', 'Bruno', 'Carla Mendes'] as const;
const ITEMS_TARGET = 40;
/** 2026-12-06 09:00 UTC: when the stream starts. */
const START_MS = Date.UTC(2026, 11, 6, 9, 0);
/** Each device's clock error, ms. */
const SKEW_MS = [0, 4_210, -2_870] as const;

// prettier-ignore
const groceries = [
  'Milk', 'Bread', 'Eggs', 'Butter', 'Cheese', 'Greek Yoghurt', 'Apples', 'Bananas', 'Pears',
  'Grapes', 'Lemons', 'Onions', 'Carrots', 'Potatoes', 'Cherry Tomatoes', 'Red Peppers', 'Spinach',
  'Lettuce', 'Cucumber', 'Rice', 'Pasta', 'Flour', 'Sugar', 'Coffee', 'Green Tea', 'Orange Juice',
  'Sparkling Water', 'Salmon', 'Chicken', 'Tofu', 'Beans', 'Lentils', 'Olives', 'Hummus',
  'Crackers', 'Granola', 'Jam', 'Peanut Butter', 'Dark Chocolate', 'Cookies', 'Crisps', 'Ice Cream',
  'Soap', 'Shampoo', 'Toothpaste', 'Sponges', 'Bin Bags', 'Foil', 'Napkins', 'Batteries',
  'Mushrooms', 'Garlic', 'Pesto', 'Oat Milk', 'Avocados', 'Broccoli', 'Cereal', 'Honey', 'Basil',
  'Mozzarella',
];
const titles = ['Groceries', 'Weekly shop', 'Saturday market', 'Groceries (home)', 'Party'];

const keyOf = (name: string): string => name.trim().replace(/\s+/g, ' ').toLowerCase();

/** `actions` steps from an empty list titled by the first step (a rename). */
export function generateStream(seed: number, actions: number): { steps: Step[]; model: Model } {
  const rng = new Rng(seed);
  const model: Model = { title: '', items: new Map() };
  const clock = { ms: START_MS };
  const steps: Step[] = [];
  steps.push(stepOf(rng, clock, 0, { kind: 'rename', title: titles[0] as string }, model));
  while (steps.length < actions) steps.push(stepOf(rng, clock, rng.int(0, 2), nextAction(rng, model), model));
  return { steps, model };
}

/** `actions` more steps by `device` alone, valid against (a copy of) `from`. */
export function generateBranch(seed: number, from: Model, device: number, actions: number): Step[] {
  const rng = new Rng(seed);
  const model: Model = {
    title: from.title,
    items: new Map([...from.items].map(([k, v]) => [k, { ...v }])),
  };
  const clock = { ms: START_MS + 7 * 24 * 3_600_000 };
  const steps: Step[] = [];
  while (steps.length < actions) steps.push(stepOf(rng, clock, device, nextAction(rng, model), model));
  return steps;
}

function stepOf(rng: Rng, clock: { ms: number }, device: number, action: Action, model: Model): Step {
  clock.ms += rng.int(5_000, 90_000);
  apply(model, action);
  return { device, atMs: clock.ms + (SKEW_MS[device] ?? 0), action };
}

function nextAction(rng: Rng, model: Model): Action {
  const live = [...model.items.values()];
  const roll = rng.next();
  const addWeight = live.length < ITEMS_TARGET ? 0.3 : 0.12;
  const removeWeight = live.length < ITEMS_TARGET ? 0.06 : 0.2;
  if (live.length === 0 || roll < addWeight) {
    // A new name, or more of one on the list (typed as it was first written).
    const absent = groceries.filter((g) => !model.items.has(keyOf(g)));
    const name =
      absent.length > 0 && (live.length === 0 || rng.chance(0.8)) ? rng.pick(absent) : rng.pick(live).name;
    return { kind: 'add', name, qty: rng.chance(0.7) ? 1 : rng.int(2, 6) };
  }
  if (roll < addWeight + removeWeight) return { kind: 'remove', name: rng.pick(live).name };
  if (roll < addWeight + removeWeight + 0.03)
    return { kind: 'rename', title: rng.pick(titles.filter((t) => t !== model.title)) };
  const item = rng.pick(live);
  const left = item.wanted - item.bought;
  const r = rng.next();
  if (r < 0.25) return { kind: 'increase', name: item.name, by: rng.int(1, 3) };
  if (left <= 0) return { kind: 'increase', name: item.name, by: 1 };
  if (r < 0.55) return { kind: 'buy', name: item.name, units: rng.int(1, left) };
  return { kind: 'check', name: item.name };
}

function apply(model: Model, a: Action): void {
  if (a.kind === 'rename') {
    model.title = a.title;
    return;
  }
  const key = keyOf(a.name);
  const item = model.items.get(key);
  if (a.kind === 'add') {
    if (item === undefined) model.items.set(key, { name: a.name, wanted: a.qty, bought: 0 });
    else item.wanted += a.qty;
    return;
  }
  if (item === undefined) throw new Error(`invalid action: ${a.kind} of absent ${a.name}`);
  if (a.kind === 'increase') item.wanted += a.by;
  else if (a.kind === 'buy') item.bought += a.units;
  else if (a.kind === 'check') item.bought = Math.max(item.bought, item.wanted);
  else model.items.delete(key);
}

/** Counts of each kind of action, for the log. */
export function kinds(steps: readonly Step[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of steps) out[s.action.kind] = (out[s.action.kind] ?? 0) + 1;
  return out;
}
