// Aisles: the part of a shop an item is usually found in, guessed from its name with a small
// built-in word list (English and Portuguese), so that a list can be walked aisle by aisle. A guess
// only: nothing is stored, and an unknown word is "other". And the order a person's shop is walked
// in, learnt from the order they check items off (below). Pure.

import { normaliseName } from '@trolley/core';
import { clientLimits } from './client-limits.ts';

/** The aisles, in the order a typical shop is walked. */
export const aisles = [
  'produce',
  'bakery',
  'dairy',
  'meat',
  'frozen',
  'pantry',
  'drinks',
  'household',
  'care',
  'other',
] as const;

export type Aisle = (typeof aisles)[number];

export function isAisle(x: string): x is Aisle {
  return (aisles as readonly string[]).includes(x);
}

const words: Readonly<Record<Exclude<Aisle, 'other'>, string>> = {
  produce:
    'apple apples banana bananas orange oranges lemon lemons lime limes grape grapes pear pears peach peaches ' +
    'plum plums cherry cherries strawberry strawberries berries blueberries raspberries melon watermelon ' +
    'pineapple mango mangoes kiwi avocado avocados tomato tomatoes potato potatoes onion onions garlic carrot ' +
    'carrots lettuce salad spinach cabbage broccoli cauliflower cucumber cucumbers pepper peppers courgette ' +
    'zucchini aubergine eggplant mushroom mushrooms celery leek leeks ginger herbs parsley coriander basil ' +
    'maçã maçãs banana bananas laranja laranjas limão limões uva uvas pera peras pêssego morango morangos ' +
    'melão melancia ananás abacaxi manga kiwi abacate tomate tomates batata batatas cebola cebolas alho ' +
    'cenoura cenouras alface espinafre couve brócolos pepino pimento pimentos cogumelos salsa coentros',
  bakery:
    'bread loaf baguette rolls bagel bagels croissant croissants muffins cake buns tortillas wraps pão pães ' +
    'broa bolo bolos croissants tostas',
  dairy:
    'milk butter cheese yogurt yoghurt yogurts cream eggs egg margarine kefir mozzarella parmesan cheddar ' +
    'leite manteiga queijo iogurte iogurtes natas ovos ovo requeijão',
  meat:
    'chicken beef pork lamb mince ham bacon sausage sausages turkey steak fish salmon tuna cod prawns shrimp ' +
    'frango carne vaca porco borrego fiambre presunto chouriço salsichas peru bife peixe salmão atum bacalhau ' +
    'camarão',
  frozen: 'ice frozen peas pizza fries gelado gelados congelados ervilhas',
  pantry:
    'rice pasta spaghetti noodles flour sugar salt oil vinegar beans lentils chickpeas cereal cereals oats ' +
    'honey jam peanut soup sauce ketchup mayonnaise mustard spices tea coffee cocoa chocolate biscuits ' +
    'cookies crackers chips crisps nuts tin tins can cans stock ' +
    'arroz massa esparguete farinha açúcar sal azeite óleo vinagre feijão grão lentilhas cereais aveia mel ' +
    'compota sopa molho maionese mostarda especiarias chá café cacau chocolate bolachas batatas-fritas ' +
    'frutos atum-em-lata enlatados',
  drinks:
    'water juice soda cola beer wine lemonade sparkling tonic água sumo sumos refrigerante cerveja vinho ' +
    'limonada',
  household:
    'detergent soap bleach sponge sponges foil bags bin toilet paper towels napkins batteries bulbs ' +
    'dishwasher tablets softener detergente lixívia esponja esponjas alumínio sacos papel guardanapos ' +
    'pilhas lâmpadas amaciador',
  care:
    'shampoo conditioner toothpaste toothbrush deodorant razor razors plasters tissues nappies diapers ' +
    'sunscreen champô escova desodorizante lâminas pensos lenços fraldas protetor',
};

const byWord: ReadonlyMap<string, Aisle> = new Map(
  (Object.entries(words) as [Aisle, string][]).flatMap(([aisle, list]) =>
    list.split(/\s+/).map((w): [string, Aisle] => [w, aisle]),
  ),
);

/** The aisle an item's name suggests: its words are looked up from the last ("oat milk" → dairy). */
export function aisleOf(name: string): Aisle {
  const key = normaliseName(name);
  const whole = byWord.get(key);
  if (whole !== undefined) return whole;
  const parts = key.split(/[\s,/]+/);
  for (let i = parts.length - 1; i >= 0; i--) {
    const word = parts[i] ?? '';
    const found =
      byWord.get(word) ?? byWord.get(word.replace(/s$/, '')) ?? byWord.get(word.replace(/es$/, ''));
    if (found !== undefined) return found;
  }
  return 'other';
}

// ---- This device's aisles: the web app's and the terminal's one implementation ----
//
// The shop a person walks is theirs, not the list's (two people sharing a list may shop in
// different stores), so the aisle chosen for an item and the order the aisles are walked in are
// kept per device (the browser's localStorage, the terminal's home config), never synced. What is
// kept is read back through these functions, which take anything (a damaged entry is left out)
// and keep it bounded: every aisle once in an order, at most clientLimits.aisleOverridesMax items.

/** The aisles' names in English, as headings show them. */
export const englishAisleNames: Readonly<Record<Aisle, string>> = {
  produce: 'Fruit & vegetables',
  bakery: 'Bakery',
  dairy: 'Dairy & eggs',
  meat: 'Meat & fish',
  frozen: 'Frozen',
  pantry: 'Cupboard',
  drinks: 'Drinks',
  household: 'Household',
  care: 'Personal care',
  other: 'Other',
};

/** A store order from what was saved: its aisles first (once each, in its order), then the rest. */
export function storeOrder(saved: readonly unknown[]): Aisle[] {
  const known = saved.filter((x): x is Aisle => typeof x === 'string' && isAisle(x));
  return [...new Set([...known, ...aisles])];
}

/** The aisles chosen per item (by normalised name), from what was saved: [name, aisle] pairs. */
export function aisleOverridesFrom(saved: readonly unknown[]): Map<string, Aisle> {
  const pairs = saved.filter(
    (x): x is [string, Aisle] =>
      Array.isArray(x) &&
      x.length === 2 &&
      typeof x[0] === 'string' &&
      typeof x[1] === 'string' &&
      isAisle(x[1]),
  );
  return new Map(pairs.slice(0, clientLimits.aisleOverridesMax));
}

/**
 * The choices with `name` put in `aisle`, to save: newest first, at most aisleOverridesMax (the
 * oldest go). A choice that is only the guess again is forgotten.
 */
export function withAisleOverride(
  overrides: ReadonlyMap<string, Aisle>,
  name: string,
  aisle: Aisle,
): [string, Aisle][] {
  const key = normaliseName(name);
  const rest = [...overrides].filter(([k]) => k !== key);
  const all = aisleOf(name) === aisle ? rest : [[key, aisle] as [string, Aisle], ...rest];
  return all.slice(0, clientLimits.aisleOverridesMax);
}

/** The aisle an item is in on this device: the one chosen for it, else the guess from its name. */
export function itemAisle(name: string, overrides: ReadonlyMap<string, Aisle>): Aisle {
  return overrides.get(normaliseName(name)) ?? aisleOf(name);
}

/** A list walked aisle by aisle: what is left under each aisle in store order, then what is done. */
export interface AisleGroups<T> {
  /** Only the aisles that hold something to buy, in `order`; each keeps the items' order. */
  toBuy: { aisle: Aisle; items: T[] }[];
  done: T[];
}

export function groupByAisle<T extends { name: string; done: boolean }>(
  items: readonly T[],
  order: readonly Aisle[],
  overrides: ReadonlyMap<string, Aisle>,
): AisleGroups<T> {
  const byAisle = new Map<Aisle, T[]>(storeOrder(order).map((a) => [a, []]));
  const done: T[] = [];
  for (const item of items) {
    if (item.done) done.push(item);
    else byAisle.get(itemAisle(item.name, overrides))?.push(item);
  }
  const toBuy = [...byAisle].flatMap(([aisle, held]) => (held.length > 0 ? [{ aisle, items: held }] : []));
  return { toBuy, done };
}

// Store order learnt from check-offs. Each check-off says which aisle the person stood in; the
// check-offs of one shopping trip (no pause of aisleTripGapMs or more between two of them) give
// the order the trip walked the aisles in: each aisle's place is the rank of its first check-off
// among the trip's aisles, scaled to 0 (first) … 1 (last). When a trip is over, each of its aisles'
// learnt place moves towards that trip's place (an exponentially weighted mean, so the shop's
// latest layout wins over a few trips). A trip through one aisle says nothing about order and is
// not learnt from. The order only changes between trips, never while one is under way (groups
// jumping about in the middle of a shop would be worse than a slightly stale order).
//
// Bounded: one number per aisle, and the trip under way holds each aisle at most once — at most
// 2 × aisles.length entries, whatever the number of check-offs (client-limits.ts). Pure: the
// caller passes the time and keeps the state where it likes.

/** How far one finished trip moves an aisle's learnt place towards the trip's (0…1). */
export const aisleLearningRate = 0.4;

export interface AisleLearning {
  /** Per aisle seen in a finished trip: its learnt place, 0 (walked first) … 1 (last). */
  readonly places: Readonly<Partial<Record<Aisle, number>>>;
  /** The trip under way: its aisles in the order first checked off, and its last check-off's time. */
  readonly trip: { readonly aisles: readonly Aisle[]; readonly lastMs: number };
}

export const noAisleLearning: AisleLearning = { places: {}, trip: { aisles: [], lastMs: 0 } };

/** Whether the trip under way is over at `nowMs` (a pause of the trip gap, or the clock went back). */
function tripOver(state: AisleLearning, nowMs: number): boolean {
  return Math.abs(nowMs - state.trip.lastMs) >= clientLimits.aisleTripGapMs;
}

/** The learnt places with the trip under way folded in. */
function withTrip(state: AisleLearning): Partial<Record<Aisle, number>> {
  const walked = state.trip.aisles;
  const places = { ...state.places };
  if (walked.length < 2) return places;
  walked.forEach((aisle, rank) => {
    const place = rank / (walked.length - 1);
    const before = places[aisle];
    places[aisle] = before === undefined ? place : before + aisleLearningRate * (place - before);
  });
  return places;
}

/** Records a check-off of an item in `aisle` at `atMs`; returns the new state (the old is kept). */
export function learnCheckOff(state: AisleLearning, aisle: Aisle, atMs: number): AisleLearning {
  if (!Number.isFinite(atMs)) return state;
  if (tripOver(state, atMs)) return { places: withTrip(state), trip: { aisles: [aisle], lastMs: atMs } };
  const walked = state.trip.aisles.includes(aisle) ? state.trip.aisles : [...state.trip.aisles, aisle];
  return { places: state.places, trip: { aisles: walked, lastMs: atMs } };
}

/**
 * The store order learnt by `nowMs`: aisles by learnt place, including the trip under way once it
 * is over. An aisle never learnt keeps its place in the usual order (`aisles`, scaled 0…1), which
 * also breaks ties. With nothing learnt, the usual order.
 */
export function learntAisleOrder(state: AisleLearning, nowMs: number): Aisle[] {
  const places = tripOver(state, nowMs) ? withTrip(state) : state.places;
  const usual = (a: Aisle): number => aisles.indexOf(a);
  const place = (a: Aisle): number => places[a] ?? usual(a) / (aisles.length - 1);
  return [...aisles].sort((x, y) => place(x) - place(y) || usual(x) - usual(y));
}

/** Reads a stored learning state; whatever is malformed in it is dropped (never throws). */
export function aisleLearningFrom(stored: unknown): AisleLearning {
  if (typeof stored !== 'object' || stored === null) return noAisleLearning;
  const { places, trip } = stored as { places?: unknown; trip?: unknown };
  const kept: Partial<Record<Aisle, number>> = {};
  if (typeof places === 'object' && places !== null)
    for (const [aisle, place] of Object.entries(places))
      if (isAisle(aisle) && typeof place === 'number' && place >= 0 && place <= 1) kept[aisle] = place;
  const { aisles: walked, lastMs } = (typeof trip === 'object' && trip !== null ? trip : {}) as {
    aisles?: unknown;
    lastMs?: unknown;
  };
  const tripAisles = Array.isArray(walked)
    ? [...new Set(walked.filter((a): a is Aisle => typeof a === 'string' && isAisle(a)))]
    : [];
  const last = typeof lastMs === 'number' && Number.isFinite(lastMs) ? lastMs : 0;
  return { places: kept, trip: { aisles: tripAisles, lastMs: last } };
}
