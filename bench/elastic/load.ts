// A steady write and read load on a running cloud, from many clients, that remembers every write
// the cloud acknowledged and can prove at the end that none was lost. For bench:elastic (and any
// benchmark or test that wants shoppers busy while it does something to the cluster).
//
// `clients` CloudClients (each its own ZeroMQ connection to the proxies, in this process) each
// write to lists of their own: one ListReplica per list, one new item per write (a person adding
// "item 17"), so every acknowledged write is one item name that must be in the list when it is
// read back. A put answered 'unknown' (deadline passed, no coordinator for a moment) is sent
// again under the same opId, as a client does (so is one answered with an error, such as
// overloaded: counted apart), until it is 'ok' or `retryForMs` has passed (then
// it counts as failed, and the list is retired: its replica's later changes would follow a change
// the cloud may never have seen). Reads pick one of the client's lists and check that every item
// acknowledged before the read began is in what comes back (a read that misses one is "stale":
// counted, not an error, as Dynamo allows while a ring change is in flight).
//
// Every operation is recorded with its start, end and outcome, so a caller takes figures for any
// window (Load.figures). verify() reads every list back through a fresh client and counts the
// acknowledged items missing: the writes lost.

import {
  ListDoc,
  ListReplica,
  decodeList,
  encodeContext,
  encodeList,
  newListId,
  newReplicaId,
  type ListId,
} from '@trolley/core';
import { CloudClient, cryptoRandom } from '@trolley/node';
import { percentile } from '../common.ts';

export interface LoadOptions {
  /** The proxies' client endpoints (tcp://host:port#KEY), tried in turn by every client. */
  endpoints: readonly string[];
  /** CloudClients, each with its own lists and its own connection. */
  clients: number;
  /** Lists per client (written round-robin; made before the load starts). */
  listsPerClient: number;
  /** Target writes a second, all clients together (each client paces itself to its share). */
  writesPerSecond: number;
  /** Target reads a second, all clients together. */
  readsPerSecond: number;
  /** One attempt's deadline (the protocol caps deadlines at 60 s). */
  attemptMs?: number;
  /** How long an 'unknown' is retried (same opId) before the write counts as failed. */
  retryForMs?: number;
  /** Progress lines. */
  progress?: (line: string) => void;
}

type Outcome = 'ok' | 'failed';

interface WriteRecord {
  start: number;
  end: number;
  outcome: Outcome;
  /** Attempts answered 'unknown' before the last one. */
  unknown: number;
  /** Attempts answered with an error (overloaded, refused), each retried. */
  refused: number;
}

interface ReadRecord {
  start: number;
  end: number;
  outcome: 'ok' | 'stale' | 'failed';
}

/** Figures for one window of the load. */
export interface LoadFigures {
  writes: number;
  writesOk: number;
  writesFailed: number;
  /** Attempts answered 'unknown' (each retried under the same opId). */
  unknown: number;
  /** Attempts answered with an error instead (overloaded, refused; retried all the same). */
  refused: number;
  reads: number;
  readsFailed: number;
  /** Reads that missed an item acknowledged before they began. */
  staleReads: number;
  /** Latency of an acknowledged write, retries included (ms). */
  writeP50Ms: number;
  writeP99Ms: number;
  readP99Ms: number;
}

interface TrackedList {
  listId: ListId;
  title: string;
  replica: ListReplica;
  /** Item names the cloud acknowledged. */
  acked: string[];
  retired: boolean;
  next: number;
}

/** At most this many operations are remembered (a long run keeps its newest). */
const recordsMax = 2_000_000;

export class Load {
  private readonly clients: CloudClient[];
  private readonly lists: TrackedList[][];
  private readonly writes: WriteRecord[] = [];
  private readonly reads: ReadRecord[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly attemptMs: number;
  private readonly retryForMs: number;

  private constructor(private readonly o: LoadOptions) {
    this.attemptMs = o.attemptMs ?? 10_000;
    this.retryForMs = o.retryForMs ?? 120_000;
    this.clients = Array.from({ length: o.clients }, () => new CloudClient([...o.endpoints]));
    this.lists = this.clients.map((_, c) =>
      Array.from({ length: o.listsPerClient }, (_, i) => ({
        listId: newListId(cryptoRandom),
        title: `Load ${c}.${i}`,
        replica: new ListReplica(newReplicaId(cryptoRandom)),
        acked: [],
        retired: false,
        next: 0,
      })),
    );
  }

  /**
   * Connects the clients and makes every list (its title, acknowledged); then starts the load.
   * Throws if a list cannot be made: the load has nothing to stand on.
   */
  static async start(o: LoadOptions): Promise<Load> {
    const load = new Load(o);
    try {
      await Promise.all(
        load.clients.map(async (client, c) => {
          for (const l of load.lists[c] ?? []) {
            const r = await load.put(client, l.listId, l.replica.rename(l.title));
            if (r.outcome !== 'ok') throw new Error(`list ${l.listId} could not be made`);
          }
        }),
      );
      o.progress?.(`load: ${o.clients * o.listsPerClient} lists made by ${o.clients} clients`);
      load.running = true;
      load.loops = load.clients.flatMap((client, c) => [load.writeLoop(client, c), load.readLoop(client, c)]);
      return load;
    } catch (e) {
      load.close();
      throw e;
    }
  }

  /** Every list the load writes. */
  listIds(): ListId[] {
    return this.lists.flat().map((l) => l.listId);
  }

  /** Acknowledged writes so far (the rename that made each list included). */
  get acknowledged(): number {
    return this.lists.flat().reduce((n, l) => n + l.acked.length + 1, 0);
  }

  /** performance.now() now: window bounds for figures(). */
  now(): number {
    return performance.now();
  }

  /** Figures for the operations that began in [from, to). */
  figures(from: number, to = Number.POSITIVE_INFINITY): LoadFigures {
    const w = this.writes.filter((r) => r.start >= from && r.start < to);
    const r = this.reads.filter((x) => x.start >= from && x.start < to);
    const okMs = Float64Array.from(w.filter((x) => x.outcome === 'ok').map((x) => x.end - x.start)).sort();
    const readMs = Float64Array.from(
      r.filter((x) => x.outcome !== 'failed').map((x) => x.end - x.start),
    ).sort();
    return {
      writes: w.length,
      writesOk: okMs.length,
      writesFailed: w.filter((x) => x.outcome === 'failed').length,
      unknown: w.reduce((n, x) => n + x.unknown, 0),
      refused: w.reduce((n, x) => n + x.refused, 0),
      reads: r.length,
      readsFailed: r.filter((x) => x.outcome === 'failed').length,
      staleReads: r.filter((x) => x.outcome === 'stale').length,
      writeP50Ms: percentile(okMs, 0.5),
      writeP99Ms: percentile(okMs, 0.99),
      readP99Ms: percentile(readMs, 0.99),
    };
  }

  /** Stops issuing operations and waits for those in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Stops and closes the clients. */
  close(): void {
    this.running = false;
    for (const c of this.clients) c.close();
  }

  /**
   * Reads every list back through a fresh client (each read retried while it fails, for up to
   * retryForMs) and counts the acknowledged items missing. Call after stop().
   */
  async verify(endpoints: readonly string[] = this.o.endpoints): Promise<{
    lists: number;
    acknowledged: number;
    lost: number;
    unreadable: number;
    problems: string[];
  }> {
    const client = new CloudClient([...endpoints]);
    const problems: string[] = [];
    let lost = 0;
    let unreadable = 0;
    try {
      const all = this.lists.flat();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < all.length) {
          const l = all[next++] as TrackedList;
          const read = await this.read(client, l.listId, this.retryForMs);
          if (read === undefined) {
            unreadable++;
            lost += l.acked.length + 1;
            problems.push(`${l.listId}: unreadable`);
            continue;
          }
          const missing = l.acked.filter((n) => !read.names.has(n));
          if (read.title !== l.title) missing.push(`the title ${JSON.stringify(l.title)}`);
          lost += missing.length;
          if (missing.length > 0) problems.push(`${l.listId}: missing ${missing.join(', ')}`);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      return { lists: all.length, acknowledged: this.acknowledged, lost, unreadable, problems };
    } finally {
      client.close();
    }
  }

  private async writeLoop(client: CloudClient, c: number): Promise<void> {
    const intervalMs = (1_000 * this.o.clients) / this.o.writesPerSecond;
    const mine = this.lists[c] ?? [];
    let turn = c; // clients start on different lists
    await sleep(Math.random() * intervalMs);
    while (this.running) {
      const l = mine[turn++ % mine.length] as TrackedList;
      const began = performance.now();
      if (!l.retired) {
        const name = `item ${l.next++}`;
        const r = await this.put(client, l.listId, l.replica.addItem(name, 1));
        this.record(this.writes, {
          start: began,
          end: performance.now(),
          outcome: r.outcome,
          unknown: r.unknown,
          refused: r.refused,
        });
        if (r.outcome === 'ok') l.acked.push(name);
        else l.retired = true;
      }
      await sleep(Math.max(0, intervalMs - (performance.now() - began)));
    }
  }

  private async readLoop(client: CloudClient, c: number): Promise<void> {
    const intervalMs = (1_000 * this.o.clients) / this.o.readsPerSecond;
    const mine = this.lists[c] ?? [];
    await sleep(Math.random() * intervalMs);
    while (this.running) {
      const l = mine[Math.floor(Math.random() * mine.length)] as TrackedList;
      const expected = [...l.acked];
      const began = performance.now();
      const read = await this.read(client, l.listId, 0);
      const outcome =
        read === undefined ? 'failed' : expected.every((n) => read.names.has(n)) ? 'ok' : 'stale';
      this.record(this.reads, { start: began, end: performance.now(), outcome });
      await sleep(Math.max(0, intervalMs - (performance.now() - began)));
    }
  }

  /** Puts until 'ok' under one opId, or until retryForMs has passed ('failed'). */
  private async put(
    client: CloudClient,
    listId: ListId,
    delta: ListDoc,
  ): Promise<{ outcome: Outcome; unknown: number; refused: number }> {
    const bytes = encodeList(delta);
    const opId = client.newOpId();
    const giveUp = performance.now() + this.retryForMs;
    let unknown = 0;
    let refused = 0;
    for (;;) {
      try {
        const r = await client.put(listId, bytes, { opId, timeoutMs: this.attemptMs });
        if (r.outcome === 'ok') return { outcome: 'ok', unknown, refused };
        unknown++;
      } catch (e) {
        // An error answer (overloaded, refused): counted apart, and tried again until giveUp.
        refused++;
        this.noteError(e);
      }
      if (performance.now() > giveUp) return { outcome: 'failed', unknown, refused };
      await sleep(100);
    }
  }

  /** Error answers to puts, by message (at most 20 kinds; for the report). */
  readonly errors = new Map<string, number>();

  private noteError(e: unknown): void {
    const text = e instanceof Error ? e.message : String(e);
    if (this.errors.has(text) || this.errors.size < 20)
      this.errors.set(text, (this.errors.get(text) ?? 0) + 1);
  }

  /** A list's title and item names as read through the proxy; undefined if no read succeeded. */
  private async read(
    client: CloudClient,
    listId: ListId,
    retryForMs: number,
  ): Promise<{ title: string; names: Set<string> } | undefined> {
    const giveUp = performance.now() + retryForMs;
    const empty = ListDoc.empty();
    const context = encodeContext(empty.ctx, empty.replicas);
    for (;;) {
      try {
        const reply = await client.get(listId, context, { timeoutMs: this.attemptMs });
        const doc = decodeList(reply.delta);
        if (doc.ok) {
          const r = new ListReplica(newReplicaId(cryptoRandom));
          r.apply(doc.value);
          const view = r.view();
          return { title: view.title, names: new Set(view.items.map((i) => i.name)) };
        }
      } catch {
        // no answer in time: tried again until giveUp
      }
      if (performance.now() > giveUp) return undefined;
      await sleep(200);
    }
  }

  private record<T>(records: T[], r: T): void {
    if (records.length >= recordsMax) records.shift();
    records.push(r);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
