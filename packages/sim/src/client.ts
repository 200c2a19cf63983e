// A simulated client device: one ListReplica per list, random operations on them, an outbox of
// deltas not yet cloud-ok, and periodic gets that bring in what others wrote. It speaks the real
// wire protocol to the proxy, as CloudClient does: every put carries a request ID, an operation
// ID (kept across retries, so a retry is harmless) and an absolute deadline on this device's wall
// clock. A timeout, an "unknown" outcome or an error is never "failed": the delta stays in the
// outbox and is sent again, with the same opId, after a backoff.
//
// Each operation is first run through the intent model (effectOf over the effects this replica
// holds), then on the replica; the two must agree on errors, and the replica's view must equal
// the model's view of what it holds. One kind of operation is skipped: an edit that would write
// nothing and only lower a deleted flag (say, "decrease by 0" on a deleted list) creates no dot,
// so which replicas hold it could not be traced (history.ts); it is rare and says nothing new.

import {
  ListReplica,
  TrolleyError,
  decodeList,
  decodeMessage,
  encodeContext,
  encodeList,
  encodeMessage,
  opIdFrom,
  type ListId,
  type Message,
  type OpId,
  writerIdOf,
  writerSecretBytes,
} from '@trolley/core';
import { effectOf, intentViolations, specView, type Effect } from '@trolley/core/testing/intent-model';
import { performOp, plainView } from '@trolley/core/testing/subjects';
import type { History, OperationRecord } from './history.ts';
import { randomOp } from './ops.ts';
import type { Prng } from './prng.ts';

export interface ClientPorts {
  nowMs(): number;
  wallMs(): number;
  after(delayMs: number, action: () => void): void;
  /** Sends a frame to the proxy. */
  send(frame: Uint8Array): void;
  /** The nodes whose stores hold the operation now (for late-apply detection). */
  holders(record: OperationRecord): Set<string>;
}

export interface ClientConfig {
  /** How far ahead a put's deadline is. */
  putDeadlineMs: number;
  /** Extra wait past the deadline before the client gives up on a reply. */
  replyGraceMs: number;
  getDeadlineMs: number;
  /** Puts in flight at once. */
  putsInFlightMax: number;
  /** Pause between operations while active, ms range. */
  opEveryMs: [number, number];
  /** Pause between gets, ms range. */
  syncEveryMs: [number, number];
  /** Chance, per operation, of going offline for a while. */
  offlineChance: number;
  offlineMs: [number, number];
}

export const defaultClientConfig: ClientConfig = {
  putDeadlineMs: 1_500,
  replyGraceMs: 300,
  getDeadlineMs: 1_500,
  putsInFlightMax: 3,
  opEveryMs: [100, 700],
  syncEveryMs: [300, 1_500],
  offlineChance: 0.02,
  offlineMs: [1_000, 6_000],
};

interface OutboxEntry {
  record: OperationRecord;
  attempts: number;
  /** Request ID of the attempt in flight, if any. */
  inFlight: number | undefined;
  notBeforeMs: number;
}

type Waiting = { kind: 'put'; entry: OutboxEntry } | { kind: 'get'; listId: ListId };

export interface ClientCounters {
  operations: number;
  refused: number;
  skipped: number;
  puts: number;
  acked: number;
  unknown: number;
  gets: number;
  getReplies: number;
  lateReplies: number;
}

export class SimClient {
  readonly replicas = new Map<ListId, ListReplica>();
  readonly outbox: OutboxEntry[] = [];
  readonly counters: ClientCounters = {
    operations: 0,
    refused: 0,
    skipped: 0,
    puts: 0,
    acked: 0,
    unknown: 0,
    gets: 0,
    getReplies: 0,
    lateReplies: 0,
  };
  /** Performing operations (safety phase); off: only flush and sync (liveness phase). */
  active = true;
  /** Sending gets (off while the cloud converges on its own, see settle()). */
  private reading = true;
  private offlineUntilMs = 0;
  private readonly waiting = new Map<number, Waiting>();
  /** Per list, the operations this replica is known to hold (history.seenBy). */
  private readonly known = new Map<ListId, Set<number>>();
  private nextRequestId = 1;
  private syncCursor = 0;
  /** The writer secret whose hash names this client's replica (ids.ts), sent with every put. */
  private readonly writer: Uint8Array;

  constructor(
    readonly name: string,
    private readonly lists: readonly ListId[],
    private readonly rng: Prng,
    private readonly history: History,
    private readonly ports: ClientPorts,
    private readonly config: ClientConfig = defaultClientConfig,
  ) {
    // From the name, not the generator: drawing from it would change every seed's run.
    this.writer = Uint8Array.from(
      { length: writerSecretBytes },
      (_, i) => name.charCodeAt(i % name.length) + i,
    );
    const replicaId = writerIdOf(this.writer);
    for (const id of lists) this.replicas.set(id, new ListReplica(replicaId));
  }

  start(): void {
    this.ports.after(this.rng.range(0, 300), () => this.operate());
    this.ports.after(this.rng.range(0, 500), () => this.sync());
  }

  /** Puts not yet cloud-ok (in flight or waiting for a retry). */
  get unacknowledged(): number {
    return this.outbox.length;
  }

  /**
   * Liveness phase: no new operations, no going offline, retry at once — and no reads, so that
   * the cloud must converge by its own mechanisms (hints, anti-entropy, transfers), not by read
   * repair, until catchUp().
   */
  settle(): void {
    this.active = false;
    this.reading = false;
    this.offlineUntilMs = 0;
    for (const e of this.outbox) e.notBeforeMs = Math.min(e.notBeforeMs, this.ports.nowMs());
    this.pump();
  }

  /** Liveness phase, once the cloud has converged: read every list until caught up. */
  catchUp(): void {
    this.reading = true;
  }

  private get online(): boolean {
    return this.ports.nowMs() >= this.offlineUntilMs;
  }

  // ---- operations ------------------------------------------------------------------------------

  private operate(): void {
    if (!this.active) return;
    this.ports.after(this.rng.range(...this.config.opEveryMs), () => this.operate());
    if (this.rng.chance(this.config.offlineChance)) {
      this.offlineUntilMs = this.ports.nowMs() + this.rng.range(...this.config.offlineMs);
      this.ports.after(this.offlineUntilMs - this.ports.nowMs(), () => this.pump());
    }
    const listId = this.rng.pick(this.lists);
    this.perform(listId);
    this.pump();
  }

  private perform(listId: ListId): void {
    const replica = this.replicas.get(listId) as ListReplica;
    const op = randomOp(this.rng);
    let known = this.known.get(listId);
    if (known === undefined) {
      known = new Set();
      this.known.set(listId, known);
    }
    const seen = this.history.seenBy(listId, replica.state, known);
    const id = this.history.newId();
    const viewBefore = plainView(replica.view());
    const expected = specView(seen.values());
    if (JSON.stringify(viewBefore) !== JSON.stringify(expected)) {
      const why = intentViolations(viewBefore, seen.values());
      this.history.fail(
        `client ${this.name} list ${listId}: the replica's view differs from the intent model of the ${seen.size} operations it holds: ${why.join('; ') || JSON.stringify({ got: viewBefore, want: expected })}`,
      );
    }
    let effect: Effect | undefined;
    let modelError: string | undefined;
    try {
      effect = effectOf(id, op, seen);
    } catch (e) {
      if (!(e instanceof TrolleyError)) throw e;
      modelError = e.code;
    }
    if (effect !== undefined && effect.writes.length === 0 && onlyFlagCovers(effect, seen)) {
      this.counters.skipped++;
      return;
    }
    const self = replica.state.replicas.intern(replica.replicaId);
    const before = replica.state.ctx.maxCounter(self);
    let delta;
    let replicaError: string | undefined;
    try {
      delta = performOp(replica, op);
    } catch (e) {
      if (!(e instanceof TrolleyError)) throw e;
      replicaError = e.code;
    }
    if (modelError !== replicaError) {
      this.history.fail(
        `client ${this.name}: ${JSON.stringify(op)} gave error ${replicaError ?? 'none'}, the intent model says ${modelError ?? 'none'}`,
      );
      return;
    }
    if (effect === undefined || delta === undefined) {
      this.counters.refused++;
      return;
    }
    this.counters.operations++;
    const after = replica.state.ctx.maxCounter(self);
    const fresh = after > before ? { replica: replica.replicaId, from: before, to: after } : undefined;
    if (fresh === undefined && (effect.writes.length > 0 || effect.covers.size > 0))
      this.history.fail(`client ${this.name}: ${JSON.stringify(op)} changed the model but made no dot`);
    const record: OperationRecord = {
      id,
      client: this.name,
      listId,
      op,
      effect,
      fresh,
      delta: fresh === undefined ? undefined : encodeList(delta),
      opId: fresh === undefined ? undefined : opIdFrom(this.rng.fill(new Uint8Array(16))),
      issuedMs: this.ports.nowMs(),
      ackedMs: undefined,
    };
    this.history.add(record);
    if (fresh !== undefined) known.add(id);
    if (record.delta !== undefined)
      this.outbox.push({ record, attempts: 0, inFlight: undefined, notBeforeMs: 0 });
  }

  // ---- puts ------------------------------------------------------------------------------------

  /** Sends what may be sent now: outbox entries not in flight and past their backoff. */
  private pump(): void {
    if (!this.online) return;
    const now = this.ports.nowMs();
    let inFlight = this.outbox.filter((e) => e.inFlight !== undefined).length;
    for (const e of this.outbox) {
      if (inFlight >= this.config.putsInFlightMax) return;
      if (e.inFlight !== undefined || e.notBeforeMs > now) continue;
      this.sendPut(e);
      inFlight++;
    }
  }

  private sendPut(e: OutboxEntry): void {
    const requestId = this.nextRequestId++;
    e.inFlight = requestId;
    e.attempts++;
    this.counters.puts++;
    this.history.retried(e.record);
    this.waiting.set(requestId, { kind: 'put', entry: e });
    this.ports.send(
      encodeMessage({
        type: 'put',
        requestId,
        listId: e.record.listId,
        opId: e.record.opId as OpId,
        deadlineMs: this.ports.wallMs() + this.config.putDeadlineMs,
        delta: e.record.delta as Uint8Array,
        writer: this.writer,
      }),
    );
    this.ports.after(this.config.putDeadlineMs + this.config.replyGraceMs, () => {
      if (e.inFlight === requestId) this.giveUp(requestId, e);
    });
  }

  /** No cloud-ok for this attempt: the outcome is unknown; send again after a backoff. */
  private giveUp(requestId: number, e: OutboxEntry): void {
    this.waiting.delete(requestId);
    e.inFlight = undefined;
    this.counters.unknown++;
    this.history.gaveUp(e.record, this.ports.holders(e.record));
    const backoff = Math.min(4_000, 200 * 2 ** Math.min(5, e.attempts - 1));
    const wait = this.active ? this.rng.range(backoff / 2, backoff) : this.rng.range(50, 300);
    e.notBeforeMs = this.ports.nowMs() + wait;
    this.ports.after(wait, () => this.pump());
  }

  private acknowledge(e: OutboxEntry): void {
    const i = this.outbox.indexOf(e);
    if (i >= 0) this.outbox.splice(i, 1);
    e.inFlight = undefined;
    this.counters.acked++;
    e.record.ackedMs ??= this.ports.nowMs();
    this.pump();
  }

  // ---- gets ------------------------------------------------------------------------------------

  private sync(): void {
    const every = this.active ? this.config.syncEveryMs : ([100, 300] as [number, number]);
    this.ports.after(this.rng.range(...every), () => this.sync());
    if (!this.online || !this.reading) return;
    const listId = this.lists[this.syncCursor++ % this.lists.length] as ListId;
    const state = (this.replicas.get(listId) as ListReplica).state;
    const requestId = this.nextRequestId++;
    this.counters.gets++;
    this.waiting.set(requestId, { kind: 'get', listId });
    this.ports.send(
      encodeMessage({
        type: 'get',
        requestId,
        listId,
        deadlineMs: this.ports.wallMs() + this.config.getDeadlineMs,
        context: encodeContext(state.ctx, state.replicas),
      }),
    );
    this.ports.after(this.config.getDeadlineMs + this.config.replyGraceMs, () =>
      this.waiting.delete(requestId),
    );
  }

  // ---- replies ---------------------------------------------------------------------------------

  onFrame(frame: Uint8Array): void {
    const decoded = decodeMessage(frame);
    if (!decoded.ok) return this.history.fail(`client ${this.name} got a frame that does not decode`);
    const m = decoded.value;
    const w = this.waiting.get(m.requestId);
    if (w === undefined) {
      this.counters.lateReplies++; // a reply to a request given up on, as CloudClient ignores it
      return;
    }
    this.waiting.delete(m.requestId);
    if (w.kind === 'put') this.onPutReply(w.entry, m);
    else this.onGetReply(w.listId, m);
  }

  private onPutReply(e: OutboxEntry, m: Message): void {
    if (e.inFlight !== m.requestId) return;
    if (m.type === 'put-reply' && m.outcome === 'ok') return this.acknowledge(e);
    if (m.type === 'put-reply' || (m.type === 'error' && retryable(m.code))) {
      this.giveUp(m.requestId, e);
      return;
    }
    this.history.fail(`client ${this.name}: a valid put was answered ${JSON.stringify(m)}`);
    this.giveUp(m.requestId, e);
  }

  private onGetReply(listId: ListId, m: Message): void {
    if (m.type === 'error') {
      if (!retryable(m.code)) this.history.fail(`client ${this.name}: a valid get was refused: ${m.code}`);
      return;
    }
    if (m.type !== 'get-reply')
      return this.history.fail(`client ${this.name}: a get was answered with ${m.type}`);
    this.counters.getReplies++;
    const doc = decodeList(m.delta);
    if (!doc.ok) return this.history.fail(`client ${this.name}: a get-reply delta does not decode`);
    (this.replicas.get(listId) as ListReplica).apply(doc.value);
  }
}

function retryable(code: string): boolean {
  return (
    code === 'deadline_exceeded' ||
    code === 'unavailable' ||
    code === 'overloaded' ||
    code === 'storage_failed' ||
    // A coordinator that has not yet seen what this client has (core write-check.ts): an honest
    // write goes through once the coordinator catches up (read repair, anti-entropy, transfers).
    code === 'refused'
  );
}

/** True if everything `effect` supersedes is a deleted-flag write (and it supersedes something). */
function onlyFlagCovers(effect: Effect, seen: ReadonlyMap<number, Effect>): boolean {
  if (effect.covers.size === 0) return false;
  for (const wid of effect.covers) {
    const [id, index] = wid.split('.').map(Number);
    const w = seen.get(id as number)?.writes[index as number];
    if (w?.target.t !== 'flag') return false;
  }
  return true;
}
