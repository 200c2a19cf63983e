// This device's aisles in the terminal, as the web app keeps them in the browser: the aisle chosen
// for an item (`trolley item aisle`) and the order the shop's aisles are walked in (`trolley config
// set aisles`), kept in the home's config file, never synced (the shop is the person's, not the
// list's). Reading back, bounding and grouping are @trolley/client's aisles.ts, shared with the web.

import { TrolleyError } from '@trolley/core';
import { aisleOverridesFrom, aisles, storeOrder, withAisleOverride, type Aisle } from '@trolley/client';
import { didYouMean } from './did-you-mean.ts';
import { readConfig, readSettings, writeConfig } from './globals.ts';

/** Where the chosen aisles are kept in config.json: [item name (normalised), aisle] pairs, newest first. */
const overridesKey = 'aisleOverrides';

/** An aisle as a person typed it (any case): one of the built-in aisles, or invalid_argument. */
export function parseAisle(typed: string): Aisle {
  const word = typed.trim().toLowerCase();
  const found = aisles.find((a) => a === word);
  if (found !== undefined) return found;
  const near = didYouMean(word, aisles);
  throw new TrolleyError(
    'invalid_argument',
    `no aisle ${JSON.stringify(typed)}${
      near.length > 0 ? `; did you mean ${near.join(' or ')}?` : ''
    } (the aisles: ${aisles.join(', ')})`,
  );
}

/** A store order as typed ("dairy, produce bakery"): known aisles, each once; the rest follow. */
export function parseAisleOrder(typed: string): string {
  const words = typed.split(/[\s,]+/).filter((w) => w !== '');
  if (words.length === 0)
    throw new TrolleyError('invalid_argument', `give the aisles in your shop's order, e.g. dairy,produce`);
  const order = words.map(parseAisle);
  const twice = order.find((a, i) => order.indexOf(a) !== i);
  if (twice !== undefined) throw new TrolleyError('invalid_argument', `${twice} is named twice`);
  return storeOrder(order).join(',');
}

/** This device's aisles: the store order (config `aisles`, else the usual one) and the chosen ones. */
export function homeAisles(dir: string): { order: Aisle[]; overrides: Map<string, Aisle> } {
  const saved = readConfig(dir)[overridesKey];
  return {
    order: storeOrder((readSettings(dir).aisles ?? '').split(',')),
    overrides: aisleOverridesFrom(Array.isArray(saved) ? saved : []),
  };
}

/** Keeps `aisle` as the aisle of the item `name` on this device (bounded: aisleOverridesMax). */
export function saveItemAisle(dir: string, name: string, aisle: Aisle): void {
  const doc = readConfig(dir);
  writeConfig(dir, { ...doc, [overridesKey]: withAisleOverride(homeAisles(dir).overrides, name, aisle) });
}
