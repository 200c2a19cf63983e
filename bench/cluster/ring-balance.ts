// Ring balance benchmark (`npm run ring -w bench`): how evenly Trolley's ring spreads data, against
// the `hashring` package (ketama: 40 vnodes × 4 points a server, random positions — Dynamo §6.2's
// strategy 1) — our ring is strategy 3 (Q equal partitions, Q/S a node, DeCandia et al. 2007 §6.2).
//
// For 3, 5, 10 and 20 equal-weight nodes:
// - share: the largest node's part of the ring ÷ the mean part. Ours: partitions owned (Q = 1024);
//   hashring: the length of the arcs of the 32-bit circle that map to the node;
// - keys: the largest node's count ÷ the mean count over KEYS seeded random UUID-v4 keys (a
//   list ID is a UUID v4). Ours: preferenceListForKey(ring, key, 1)[0]; hashring: ring.get(key).
// The key figure includes sampling noise (about 1/√(KEYS/S)); the share figure does not.
// Output: a table, then one JSON line (the last stdout line). ringBalance() returns the same
// figures for the cluster benchmark.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { createRing, maxOverMean, parseNodeId, preferenceListForKey, type RingState } from '@trolley/core';
import { rng } from '../common.ts';

const NODE_COUNTS = [3, 5, 10, 20] as const;
const KEYS = 100_000;
const SEED = 0x5eed_0101;
const PARTITION_COUNT = 1024;

/** The figures for one implementation at one node count. */
export interface BalanceFigures {
  /** Largest node's share of the ring ÷ the mean share. */
  shareMaxOverMean: number;
  /** Largest node's key count ÷ the mean key count. */
  keysMaxOverMean: number;
}

export interface RingBalance {
  keys: number;
  seed: number;
  partitionCount: number;
  /** Keyed by node count. */
  ours: Record<string, BalanceFigures>;
  hashring: Record<string, BalanceFigures>;
}

// `hashring` is CommonJS without types: load it through require and describe what we use.
interface HashRingPoint {
  value: number;
  server: string;
}
interface HashRingInstance {
  get(key: string): string | undefined;
  /** The continuum, sorted by value: a key goes to the first point with value ≥ its hash. */
  ring: HashRingPoint[];
}
type HashRingConstructor = new (servers: string[]) => HashRingInstance;
const HashRing = createRequire(import.meta.url)('hashring') as HashRingConstructor;

/** `count` UUID-v4-shaped keys from a seeded generator (mulberry32), so every run measures the same keys. */
function uuidKeys(count: number, seed: number): string[] {
  const next = rng(seed);
  // `>>> 0`: the bitwise operators below give signed 32-bit numbers; keys must not carry a '-'.
  const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = hex(next());
    const b = hex((next() & 0xffff0fff) | 0x00004000); // version 4
    const c = hex((next() & 0x3fffffff) | 0x80000000); // RFC 4122 variant
    const d = hex(next());
    keys.push(`${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`);
  }
  return keys;
}

function maxOverMeanOf(counts: Iterable<number>, nodeCount: number): number {
  let max = 0;
  let total = 0;
  for (const c of counts) {
    max = Math.max(max, c);
    total += c;
  }
  return max / (total / nodeCount);
}

function countBy(keys: readonly string[], place: (key: string) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) {
    const node = place(key);
    counts.set(node, (counts.get(node) ?? 0) + 1);
  }
  return counts;
}

function ours(names: readonly string[], keys: readonly string[]): BalanceFigures {
  const ring: RingState = createRing(
    names.map((name) => ({ id: parseNodeId(name), weight: 1 })),
    { partitionCount: PARTITION_COUNT },
  );
  const counts = countBy(keys, (key) => {
    const owner = preferenceListForKey(ring, key, 1)[0];
    if (owner === undefined) throw new Error('a ring with nodes always has an owner');
    return owner;
  });
  return {
    shareMaxOverMean: maxOverMean(ring),
    keysMaxOverMean: maxOverMeanOf(counts.values(), names.length),
  };
}

function hashring(names: readonly string[], keys: readonly string[]): BalanceFigures {
  const ring = new HashRing([...names]);
  // Point i takes the arc (point i-1, point i]; the first point also takes the wrap past the last.
  const arcs = new Map<string, number>(names.map((n) => [n, 0]));
  const points = ring.ring;
  for (const [i, point] of points.entries()) {
    const previous = i === 0 ? (points[points.length - 1]?.value ?? 0) - 2 ** 32 : points[i - 1]!.value;
    arcs.set(point.server, (arcs.get(point.server) ?? 0) + point.value - previous);
  }
  const counts = countBy(keys, (key) => {
    const server = ring.get(key);
    if (server === undefined) throw new Error('hashring returned no server');
    return server;
  });
  return {
    shareMaxOverMean: maxOverMeanOf(arcs.values(), names.length),
    keysMaxOverMean: maxOverMeanOf(counts.values(), names.length),
  };
}

/** Balance of our ring and of `hashring` for 3, 5, 10 and 20 equal nodes over seeded keys. */
export function ringBalance(options: { keys?: number; seed?: number } = {}): RingBalance {
  const keyCount = options.keys ?? KEYS;
  const seed = options.seed ?? SEED;
  const keys = uuidKeys(keyCount, seed);
  const result: RingBalance = {
    keys: keyCount,
    seed,
    partitionCount: PARTITION_COUNT,
    ours: {},
    hashring: {},
  };
  for (const s of NODE_COUNTS) {
    const names = Array.from({ length: s }, (_, i) => `node-${i + 1}`);
    result.ours[s] = ours(names, keys);
    result.hashring[s] = hashring(names, keys);
  }
  return result;
}

function printTable(r: RingBalance): void {
  const f = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(3)).padStart(9);
  console.log(
    `Ring balance: largest node ÷ mean, equal weights; ours Q = ${r.partitionCount}, ` +
      `hashring defaults (ketama, 160 points a node); ${r.keys} seeded UUID keys (seed ${r.seed})`,
  );
  console.log('');
  console.log('nodes | ours share | ours keys | hashring share | hashring keys');
  console.log('----: | ---------: | --------: | -------------: | ------------:');
  for (const s of NODE_COUNTS)
    console.log(
      `${String(s).padStart(5)} | ${f(r.ours[s]?.shareMaxOverMean).padStart(10)} | ` +
        `${f(r.ours[s]?.keysMaxOverMean)} | ${f(r.hashring[s]?.shareMaxOverMean).padStart(14)} | ` +
        `${f(r.hashring[s]?.keysMaxOverMean).padStart(13)}`,
    );
}

const round = (figures: Record<string, BalanceFigures>): Record<string, BalanceFigures> =>
  Object.fromEntries(
    Object.entries(figures).map(([s, b]) => [
      s,
      {
        shareMaxOverMean: Number(b.shareMaxOverMean.toFixed(4)),
        keysMaxOverMean: Number(b.keysMaxOverMean.toFixed(4)),
      },
    ]),
  );

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = ringBalance();
  printTable(r);
  console.log('');
  console.log(
    JSON.stringify({
      bench: 'ring',
      ours: round(r.ours),
      hashring: round(r.hashring),
      keys: r.keys,
      seed: r.seed,
      partitionCount: r.partitionCount,
    }),
  );
}
