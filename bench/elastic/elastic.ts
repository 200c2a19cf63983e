// Grows a running LocalCluster one node at a time and shrinks it back, under a Load, and measures
// each step: the ring change as an operator makes it (ringChangeConfirmed, what `trolley cluster
// add-node` / `remove-node` run), then the handover, finished when every node of the ring (and a
// node being retired) holds the new ring, no list for another owner (stats keysToHandOver) and no
// hint. A retired node is stopped (SIGTERM) only then, as the README tells operators.
//
// Per step: the load's figures while the step ran (Load.figures), partitions and keys moved
// against the least any ring could move, the time from the ring change to the end of the handover,
// and the imbalance (largest node's keys ÷ mean) after it. The ring each step should produce is
// computed here too (core's applyRingChange from the first ring), checked against the hash every
// node reports, and gives the partitions moved.
// Used by bench/elastic/run.ts and by apps/cli/src/elastic.e2e.test.ts.

import { createHash } from 'node:crypto';
import {
  applyRingChange,
  createRing,
  encodeRing,
  parseNodeId,
  preferenceList,
  type RingChange,
  type RingState,
} from '@trolley/core';
import { nodeStats } from '@trolley/node';
import type { LocalCluster } from '../../apps/cli/src/local-cluster.ts';
import type { Load, LoadFigures } from './load.ts';

export interface StepFigures {
  /** "add n4", "remove n10". */
  step: string;
  /** Nodes in the ring after the step. */
  nodes: number;
  ringVersion: number;
  /** From the ring change to the end of the handover. */
  seconds: number;
  /** The ring change alone (until every node agreed on the new ring). */
  ringChangeSeconds: number;
  load: LoadFigures;
  /** (partition, replica) places whose node changed. */
  partitionsMoved: number;
  /** The least any ring could move: the places the joining node holds after, or the leaving node held. */
  partitionsMin: number;
  /** List copies handed over (transfers acknowledged by every owner and dropped at the source). */
  keysMoved: number;
  /** The least possible: the copies the joining node holds after, or the leaving node held before. */
  keysMin: number;
  /** Keys on each ring node after the step, by node ID. */
  keysByNode: Record<string, number>;
  /** Largest node's keys ÷ mean keys, after the step. */
  imbalance: number;
}

export interface ElasticOptions {
  cluster: LocalCluster;
  load: Load;
  /** Grow to this many nodes, then shrink back to where the cluster started. */
  maxNodes: number;
  /** A step lasts at least this long (the load runs on after the handover until then). */
  minStepMs: number;
  /** Guards against a hang (a ring change or a handover that never ends); not a budget. */
  hangMs: number;
  progress?: (line: string) => void;
}

const md5Hex8 = (bytes: Uint8Array): string =>
  createHash('md5').update(bytes).digest().subarray(0, 8).toString('hex');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Stats = Record<string, unknown>;
const num = (s: Stats | undefined, key: string): number => (s?.[key] as number | undefined) ?? 0;
const counter = (s: Stats | undefined, key: string): number =>
  ((s?.['counters'] ?? {}) as Record<string, number>)[key] ?? 0;

/** The first ring of a LocalCluster, as its nodes compute it. */
export function firstRing(cluster: LocalCluster, nodes: number): RingState {
  return createRing(
    cluster.layout.nodes.slice(0, nodes).map((n) => ({ id: parseNodeId(n.id), weight: 1 })),
    { partitionCount: cluster.layout.partitions },
  );
}

/** Places (partition, replica) whose node differs between two rings. */
function placesMoved(before: RingState, after: RingState, n: number): number {
  let moved = 0;
  for (let p = 0; p < after.partitionCount; p++) {
    const old = new Set(preferenceList(before, p, n));
    for (const id of preferenceList(after, p, n)) if (!old.has(id)) moved++;
  }
  return moved;
}

/** Places of node `id` in a ring (the partitions whose preference list has it). */
function placesOf(ring: RingState, id: string, n: number): number {
  let places = 0;
  for (let p = 0; p < ring.partitionCount; p++)
    if (preferenceList(ring, p, n).includes(parseNodeId(id))) places++;
  return places;
}

export class Elastic {
  /** Indexes (in the LocalCluster) of the nodes in the ring, in the order they joined. */
  private readonly inRing: number[];
  private ring: RingState;
  private readonly progress: (line: string) => void;

  constructor(private readonly o: ElasticOptions) {
    const start = o.cluster.nodeCount;
    this.inRing = Array.from({ length: start }, (_, i) => i);
    this.ring = firstRing(o.cluster, start);
    this.progress = o.progress ?? ((): void => undefined);
  }

  /** Every step: grow to maxNodes, then shrink back to the starting size. */
  async run(): Promise<StepFigures[]> {
    const start = this.inRing.length;
    const steps: StepFigures[] = [];
    while (this.inRing.length < this.o.maxNodes) steps.push(await this.step('add'));
    while (this.inRing.length > start) steps.push(await this.step('remove'));
    return steps;
  }

  private stats(i: number): Promise<Stats> {
    return nodeStats(this.o.cluster.operator, this.o.cluster.nodeEndpoint(i), 30_000);
  }

  private idOf(i: number): string {
    return this.o.cluster.layout.nodes[i]?.id ?? `#${i}`;
  }

  /** One ring change and its handover. */
  async step(kind: 'add' | 'remove'): Promise<StepFigures> {
    const { cluster, load } = this.o;
    const n = cluster.layout.quorum.n;
    const before = new Map<number, Stats>();
    await Promise.all(this.inRing.map(async (i) => before.set(i, await this.stats(i))));
    const ringBefore = this.ring;
    const confirm = { timeoutMs: this.o.hangMs, silentMs: 60_000 };

    let index: number;
    let change: RingChange;
    let removed: number | undefined;
    // The load window starts before the new process starts: its start is part of the step's cost.
    const began = load.now();
    if (kind === 'add') {
      index = await cluster.addNode(1, { confirm, startMs: this.o.hangMs });
      change = { add: [{ id: parseNodeId(this.idOf(index)), weight: 1 }], remove: [] };
      this.inRing.push(index);
    } else {
      index = this.inRing.pop() as number;
      removed = index;
      change = { add: [], remove: [parseNodeId(this.idOf(index))] };
      await cluster.removeNode(index, this.inRing[0], confirm);
    }
    const agreed = load.now();
    const what = `${kind} ${this.idOf(index)}`;
    this.ring = applyRingChange(this.ring, change);
    const hash = md5Hex8(encodeRing(this.ring));
    this.progress(
      `${what}: ring v${this.ring.version} agreed in ${((agreed - began) / 1000).toFixed(1)} s; handing over…`,
    );

    // The handover: poll until every node of the ring, and the retired one, is done.
    const watched = removed === undefined ? [...this.inRing] : [...this.inRing, removed];
    let after = new Map<number, Stats>();
    let lastLine = 0;
    for (;;) {
      after = new Map();
      await Promise.all(watched.map(async (i) => after.set(i, await this.stats(i))));
      const wrongRing = watched.filter((i) => after.get(i)?.['ringHash'] !== hash);
      const pending = watched.filter(
        (i) => num(after.get(i), 'keysToHandOver') > 0 || num(after.get(i), 'hints') > 0,
      );
      if (wrongRing.length === 0 && pending.length === 0) break;
      const elapsed = load.now() - began;
      if (elapsed > this.o.hangMs)
        throw new Error(
          `${what}: handover not finished after ${(elapsed / 1000).toFixed(0)} s: ` +
            watched
              .map(
                (i) =>
                  `${this.idOf(i)} v${num(after.get(i), 'ringVersion')} ${String(after.get(i)?.['ringHash'])} ` +
                  `toHandOver ${num(after.get(i), 'keysToHandOver')} hints ${num(after.get(i), 'hints')}`,
              )
              .join('; ') +
            ` (expected ring ${hash})`,
        );
      if (elapsed - lastLine > 10_000) {
        lastLine = elapsed;
        this.progress(
          `${what}: still to hand over ` +
            pending.map((i) => `${this.idOf(i)} ${num(after.get(i), 'keysToHandOver')}`).join(', '),
        );
      }
      await sleep(250);
    }
    const done = load.now();
    if (removed !== undefined) {
      // It holds nothing now: stop it, as an operator would.
      cluster.signalNode(removed, 'SIGTERM');
      while (cluster.nodePid(removed) !== undefined) {
        if (load.now() - done > this.o.hangMs) throw new Error(`${what}: the process did not exit`);
        await sleep(50);
      }
    }
    const moved = [...after.entries()].reduce(
      (a, [i, s]) => a + counter(s, 'transferredAway') - counter(before.get(i), 'transferredAway'),
      0,
    );
    const ringNodes = this.inRing.map((i) => this.idOf(i));
    const keysByNode = Object.fromEntries(this.inRing.map((i) => [this.idOf(i), num(after.get(i), 'keys')]));
    const keys = Object.values(keysByNode);
    const mean = keys.reduce((a, b) => a + b, 0) / keys.length;
    const k = ringNodes.length;
    // Every place (and every list copy) the joining node holds had to move to it; every one the
    // leaving node held had to move away. No ring can move less.
    const partitionsMin = placesOf(kind === 'add' ? this.ring : ringBefore, this.idOf(index), n);
    const keysMin = num((kind === 'add' ? after : before).get(index), 'keys');
    // The rest of the step: the load goes on, so each step's window is comparable.
    await sleep(Math.max(0, this.o.minStepMs - (load.now() - began)));
    const figures: StepFigures = {
      step: what,
      nodes: k,
      ringVersion: this.ring.version,
      seconds: (done - began) / 1000,
      ringChangeSeconds: (agreed - began) / 1000,
      load: load.figures(began, done),
      partitionsMoved: placesMoved(ringBefore, this.ring, n),
      partitionsMin,
      keysMoved: moved,
      keysMin,
      keysByNode,
      imbalance: mean === 0 ? 1 : Math.max(...keys) / mean,
    };
    this.progress(
      `${what}: done in ${figures.seconds.toFixed(1)} s; ${figures.keysMoved} keys moved (least ${keysMin}), ` +
        `imbalance ${figures.imbalance.toFixed(2)}; writes ${figures.load.writesOk} ok, ${figures.load.writesFailed} failed`,
    );
    return figures;
  }
}
