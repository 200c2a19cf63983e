// A simulated client device: the PRODUCTION client — a TrolleyClient (its replicas, its outbox, its
// coalescing of the outbox under fresh opIds, its sync) over an in-memory ClientStore — speaking to
// the proxy through the PRODUCTION ClientSession (request IDs, deadlines in the proxy's clock learnt
// by hello, reply reading, the watch and its renewal, `changed` notices). Only the driver is the
// simulator's: when to operate, when to sync which list, when to go offline.
//
// Each operation is first run through the intent model (effectOf over the effects the client's
// copy holds) and on a shadow ListReplica of the same state; the two must agree on errors, the
// TrolleyClient must agree with both (same error, or the same committed state), and its view must
// equal the model's view of what it holds. The shadow's delta is the operation's record in the
// history. One kind of operation is skipped: an edit that would write nothing and only lower a
// deleted flag (say, "decrease by 0" on a deleted list) creates no dot, so which replicas hold it
// could not be traced (history.ts); it is rare and says nothing new.
//
// Which operations an outbox entry carries is followed through the store's commits (TracedStore):
// an operation's commit appends its entry; a coalescing commit replaces entries by one under a
// fresh opId, which carries the operations whose dots its context holds. A put answered 'ok' makes
// those operations cloud-ok in the history; one whose outcome is unknown is a "gave up" there.

import {
  ListReplica,
  TrolleyError,
  decodeList,
  encodeList,
  limits,
  listView,
  type ListDoc,
  type ListId,
  type OpId,
} from '@trolley/core';
import {
  ClientSession,
  MemoryClientStore,
  TrolleyClient,
  type ClientChange,
  type ClientSnapshot,
  type ClientStore,
  type CloudGetResult,
  type CloudPort,
  type CloudPutResult,
  type CommitOutcome,
  type LocalOk,
} from '@trolley/client';
import {
  effectOf,
  intentViolations,
  specView,
  type Effect,
  type Op,
} from '@trolley/core/testing/intent-model';
import { performOp, plainView } from '@trolley/core/testing/subjects';
import { holdsDots, type History, type OperationRecord } from './history.ts';
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
  /** A side effect happened (the scheduler measures how deep in its drain, scheduler.ts). */
  activity(): void;
}

export interface ClientConfig {
  /** How far ahead a request's deadline is (the TrolleyClient's sync timeout). */
  putDeadlineMs: number;
  /** Extra wait past the deadline before the session gives up on a reply. */
  replyGraceMs: number;
  /** Pause between operations while active, ms range. */
  opEveryMs: [number, number];
  /** Pause between syncs (of one list each), ms range. */
  syncEveryMs: [number, number];
  /** Pause after an operation before its list is synced, ms range. */
  pushAfterMs: [number, number];
  /** Chance, per operation, of going offline for a while. */
  offlineChance: number;
  offlineMs: [number, number];
}

export const defaultClientConfig: ClientConfig = {
  putDeadlineMs: 1_500,
  replyGraceMs: 300,
  opEveryMs: [100, 700],
  syncEveryMs: [300, 1_500],
  pushAfterMs: [50, 300],
  offlineChance: 0.02,
  offlineMs: [1_000, 6_000],
};

/** How long a learnt clock offset is trusted, and how long a sync waits for a hello. */
const clockTtlMs = 60_000;
const helloWaitMs = 1_000;

export interface ClientCounters {
  operations: number;
  refused: number;
  skipped: number;
  puts: number;
  acked: number;
  unknown: number;
  gets: number;
  getReplies: number;
  /** `changed` notices joined (a watcher was shown a change). */
  shown: number;
}

/**
 * The client's store, with the commits followed: the committed state of each list (what the
 * client's copy holds between tasks), and every commit handed to `onCommitted`.
 */
class TracedStore implements ClientStore {
  readonly committed = new Map<ListId, Uint8Array>();
  constructor(
    private readonly inner: ClientStore,
    private readonly onCommitted: (change: ClientChange) => void,
    private readonly activity: () => void,
  ) {}
  load(): Promise<ClientSnapshot> {
    return this.inner.load();
  }
  async commit(change: ClientChange): Promise<CommitOutcome> {
    this.activity();
    const outcome = await this.inner.commit(change);
    if (outcome !== 'committed') return outcome;
    for (const l of change.lists ?? []) {
      if (l.forget === true) this.committed.delete(l.listId);
      else if (l.state !== undefined) this.committed.set(l.listId, l.state);
    }
    this.onCommitted(change);
    return outcome;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export class SimClient {
  readonly counters: ClientCounters = {
    operations: 0,
    refused: 0,
    skipped: 0,
    puts: 0,
    acked: 0,
    unknown: 0,
    gets: 0,
    getReplies: 0,
    shown: 0,
  };
  readonly session: ClientSession;
  /** Performing operations (safety phase); off: only flush and sync (liveness phase). */
  active = true;
  /** Sending gets (off while the cloud converges on its own, see settle()). */
  private reading = true;
  private offlineUntilMs = 0;
  private client: TrolleyClient | undefined;
  private readonly store: TracedStore;
  /** Per list, the operations this client's copy is known to hold (history.seenBy). */
  private readonly known = new Map<ListId, Set<number>>();
  /** The operations each outbox entry carries. */
  private readonly carried = new Map<OpId, OperationRecord[]>();
  /** The operation being performed (its commit appends its entry). */
  private performing: OperationRecord | undefined;
  private syncing = false;
  private syncCursor = 0;
  /** Lists with a push due soon (an operation was made). */
  private readonly pushDue = new Set<ListId>();
  private readonly cloud: CloudPort;

  constructor(
    readonly name: string,
    private readonly lists: readonly ListId[],
    private readonly rng: Prng,
    private readonly history: History,
    private readonly ports: ClientPorts,
    private readonly config: ClientConfig = defaultClientConfig,
  ) {
    this.store = new TracedStore(
      new MemoryClientStore(),
      (change) => this.followOutbox(change),
      () => ports.activity(),
    );
    this.session = new ClientSession(
      {
        clock: { monotonicMs: () => ports.nowMs(), wallMs: () => ports.wallMs() },
        send: (frame) => {
          if (!this.online) return false;
          ports.send(frame);
          return true;
        },
        after: (ms, action) => {
          let live = true;
          ports.after(ms, () => {
            if (live) action();
          });
          return () => void (live = false);
        },
      },
      {
        replyGraceMs: config.replyGraceMs,
        watchRenewMs: limits.watchLeaseMs / 2,
        clientName: `sim ${name}`,
      },
    );
    this.session.onChanged((listId, delta) => this.onChanged(listId, delta));
    this.cloud = { put: (...a) => this.put(...a), get: (...a) => this.get(...a) };
  }

  /** Opens the TrolleyClient and joins the run's lists. */
  async open(): Promise<void> {
    const client = await TrolleyClient.open(this.store, {
      clock: { monotonicMs: () => this.ports.nowMs(), wallMs: () => this.ports.wallMs() },
      random: this.rng.fork(),
    });
    for (const id of this.lists) await client.joinList(id);
    this.client = client;
  }

  start(): void {
    this.session.setWatched(this.lists);
    this.ports.after(this.rng.range(0, 300), () => this.operate());
    this.ports.after(this.rng.range(0, 500), () => this.syncTick());
  }

  private get trolley(): TrolleyClient {
    if (this.client === undefined) throw new Error(`client ${this.name} was not opened`);
    return this.client;
  }

  /** Outbox entries not yet cloud-ok, over every list. */
  get unacknowledged(): number {
    return this.lists.reduce((n, id) => n + this.trolley.outboxSize(id), 0);
  }

  /** The deltas in the outbox (not yet cloud-ok), as the store holds them. */
  async outboxDeltas(): Promise<{ listId: ListId; delta: Uint8Array }[]> {
    const snapshot = await this.store.load();
    return snapshot.lists.flatMap((l) => l.outbox.map((e) => ({ listId: l.listId, delta: e.delta })));
  }

  /** The client's view of a list (what a person sees). */
  view(listId: ListId): ReturnType<typeof plainView> {
    return plainView(this.trolley.view(listId));
  }

  /**
   * Liveness phase: no new operations, no going offline, sync often — and no reads, so that the
   * cloud must converge by its own mechanisms (hints, anti-entropy, transfers), not by read
   * repair, until catchUp().
   */
  settle(): void {
    this.active = false;
    this.reading = false;
    this.offlineUntilMs = 0;
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
    if (this.rng.chance(this.config.offlineChance))
      this.offlineUntilMs = this.ports.nowMs() + this.rng.range(...this.config.offlineMs);
    const listId = this.rng.pick(this.lists);
    this.perform(listId);
  }

  private perform(listId: ListId): void {
    const committed = this.store.committed.get(listId);
    const doc = committed === undefined ? undefined : decodeList(committed);
    if (doc === undefined || !doc.ok)
      return this.history.fail(`client ${this.name}: no committed copy of ${listId}`);
    const op = randomOp(this.rng);
    let known = this.known.get(listId);
    if (known === undefined) {
      known = new Set();
      this.known.set(listId, known);
    }
    const seen = this.history.seenBy(listId, doc.value, known);
    const id = this.history.newId();
    const viewBefore = this.view(listId);
    const expected = specView(seen.values());
    if (JSON.stringify(viewBefore) !== JSON.stringify(expected)) {
      const why = intentViolations(viewBefore, seen.values());
      this.history.fail(
        `client ${this.name} list ${listId}: the client's view differs from the intent model of the ${seen.size} operations it holds: ${why.join('; ') || JSON.stringify({ got: viewBefore, want: expected })}`,
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
    // The shadow: the same operation on a ListReplica of the same state.
    const shadow = new ListReplica(this.trolley.replicaId, doc.value);
    // TrolleyClient records each change in the list's history, under its device name.
    shadow.author = { name: this.trolley.deviceName, nowMs: () => this.ports.wallMs() };
    const self = shadow.state.replicas.intern(shadow.replicaId);
    const before = shadow.state.ctx.maxCounter(self);
    let delta: ListDoc | undefined;
    let replicaError: string | undefined;
    try {
      delta = performOp(shadow, op);
    } catch (e) {
      if (!(e instanceof TrolleyError)) throw e;
      replicaError = e.code;
    }
    if (modelError !== replicaError)
      return this.history.fail(
        `client ${this.name}: ${JSON.stringify(op)} gave error ${replicaError ?? 'none'}, the intent model says ${modelError ?? 'none'}`,
      );
    let record: OperationRecord | undefined;
    if (effect !== undefined && delta !== undefined) {
      const after = shadow.state.ctx.maxCounter(self);
      const fresh = after > before ? { replica: shadow.replicaId, from: before, to: after } : undefined;
      if (fresh === undefined && (effect.writes.length > 0 || effect.covers.size > 0))
        this.history.fail(`client ${this.name}: ${JSON.stringify(op)} changed the model but made no dot`);
      record = {
        id,
        client: this.name,
        listId,
        op,
        effect,
        fresh,
        delta: fresh === undefined ? undefined : encodeList(delta),
        opId: undefined,
        issuedMs: this.ports.nowMs(),
        ackedMs: undefined,
      };
      this.history.add(record);
      if (fresh !== undefined) known.add(id);
    }
    const want = JSON.stringify(plainView(shadow.view()));
    this.performing = record;
    const done = (opId: OpId | undefined, error: string | undefined): void => {
      this.performing = undefined;
      if (error !== replicaError)
        return this.history.fail(
          `client ${this.name}: TrolleyClient answered ${JSON.stringify(op)} with ${error ?? 'local-ok'}, ListReplica with ${replicaError ?? 'a delta'}`,
        );
      if (record === undefined) return void this.counters.refused++;
      this.counters.operations++;
      // The same view and the same dots made (which dot goes to which item may differ: it follows
      // the order the copy holds its items in, which a decode does not keep).
      const now = this.store.committed.get(listId);
      const got = now === undefined ? undefined : decodeList(now);
      const made =
        got?.ok === true ? got.value.ctx.maxCounter(got.value.replicas.intern(shadow.replicaId)) : -1;
      if (
        got?.ok !== true ||
        JSON.stringify(plainView(listView(got.value))) !== want ||
        made !== shadow.state.ctx.maxCounter(self)
      )
        this.history.fail(
          `client ${this.name}: TrolleyClient's state after ${JSON.stringify(op)} is not ListReplica's`,
        );
      if ((opId === undefined) !== (record.delta === undefined) || opId !== record.opId)
        this.history.fail(
          `client ${this.name}: ${JSON.stringify(op)} was committed under ${opId ?? 'no entry'}, followed as ${record.opId ?? 'none'}`,
        );
      if (opId !== undefined) {
        this.pushDue.add(listId);
        this.ports.after(this.rng.range(...this.config.pushAfterMs), () => this.syncTick(false));
      }
    };
    void runOp(this.trolley, listId, op).then(
      (ok) => done(ok.opId, undefined),
      (e: unknown) => {
        if (!(e instanceof TrolleyError)) {
          this.history.fail(`client ${this.name}: TrolleyClient threw ${String(e)}`);
          return;
        }
        done(undefined, e.code);
      },
    );
  }

  /** Follows which operations each outbox entry carries, through one committed change. */
  private followOutbox(change: ClientChange): void {
    for (const l of change.lists ?? []) {
      const moving: OperationRecord[] = [];
      for (const opId of l.removeOpIds ?? []) {
        moving.push(...(this.carried.get(opId) ?? []));
        this.carried.delete(opId);
      }
      const op = this.performing;
      if (l.state !== undefined && op !== undefined && op.listId === l.listId && op.delta !== undefined)
        moving.push(op);
      if (l.append === undefined || l.append.length === 0) continue;
      const docs = l.append.map((e) => {
        const d = decodeList(e.delta);
        return d.ok ? d.value : undefined;
      });
      for (const record of moving) {
        // The first entry (in order) whose context holds its dots: its own run's (history.ts).
        const i = docs.findIndex(
          (d) => d !== undefined && record.fresh !== undefined && holdsDots(d, record.fresh),
        );
        const entry = l.append[i];
        if (entry === undefined) {
          this.history.fail(`client ${this.name}: operation ${record.id} left the outbox without cloud-ok`);
          continue;
        }
        const list = this.carried.get(entry.opId) ?? [];
        list.push(record);
        this.carried.set(entry.opId, list);
        if (record === op) {
          // What the TrolleyClient sends is its own delta (the shadow's may number dots otherwise).
          record.opId = entry.opId;
          record.delta = entry.delta;
        }
      }
    }
  }

  // ---- syncing ---------------------------------------------------------------------------------

  /** Syncs one list (one whose push is due first, else the next in turn); `again`: reschedule. */
  private syncTick(again = true): void {
    if (again) {
      const every = this.active ? this.config.syncEveryMs : ([100, 300] as [number, number]);
      this.ports.after(this.rng.range(...every), () => this.syncTick());
    }
    if (!this.online || this.syncing || this.client === undefined) return;
    const due = this.lists.find((id) => this.pushDue.has(id));
    const listId = due ?? this.lists[this.syncCursor++ % this.lists.length];
    if (listId === undefined) return;
    if (!this.reading && this.trolley.outboxSize(listId) === 0) return;
    this.pushDue.delete(listId);
    this.syncing = true;
    void (async () => {
      await this.session.ensureClock(clockTtlMs, helloWaitMs);
      await this.trolley.syncList(this.cloud, listId, { timeoutMs: this.config.putDeadlineMs });
    })()
      .catch((e: unknown) => this.history.fail(`client ${this.name}: sync threw ${String(e)}`))
      .finally(() => {
        this.syncing = false;
      });
  }

  /** The CloudPort the TrolleyClient pushes through: the session, with the history kept. */
  private async put(
    listId: ListId,
    delta: Uint8Array,
    options: { timeoutMs: number; opId: OpId; writer?: Uint8Array },
  ): Promise<CloudPutResult> {
    const records = this.carried.get(options.opId) ?? [];
    for (const r of records) this.history.retried(r);
    this.counters.puts++;
    const answer = await this.session.put(listId, delta, options);
    if (answer.outcome === 'ok') {
      this.counters.acked++;
      for (const r of records) r.ackedMs ??= this.ports.nowMs();
      return answer;
    }
    if (answer.outcome === 'refused') {
      // `refused`: a coordinator that has not yet seen what this client has (core write-check.ts);
      // an honest write goes through once it catches up. Anything else refuses a valid put.
      if (answer.code !== 'refused')
        this.history.fail(`client ${this.name}: a valid put was refused: ${answer.code}: ${answer.message}`);
      this.giveUp(records);
      throw new TrolleyError('invalid_argument', `refused: ${answer.message}`);
    }
    this.giveUp(records);
    return answer;
  }

  /** No cloud-ok for this attempt: the outcome is unknown. */
  private giveUp(records: readonly OperationRecord[]): void {
    this.counters.unknown++;
    for (const r of records) this.history.gaveUp(r, this.ports.holders(r));
  }

  private async get(
    listId: ListId,
    context: Uint8Array,
    options: { timeoutMs: number },
  ): Promise<CloudGetResult> {
    if (!this.reading) throw new TrolleyError('not_found', 'reads are paused (liveness, first stage)');
    this.counters.gets++;
    const answer = await this.session.get(listId, context, options);
    if (answer.outcome === 'ok') {
      this.counters.getReplies++;
      return answer;
    }
    if (answer.outcome === 'error' && answer.code !== 'refused' && answer.code !== 'unexpected')
      if (!['deadline_exceeded', 'unavailable', 'overloaded', 'storage_failed'].includes(answer.code))
        this.history.fail(`client ${this.name}: a valid get was refused: ${answer.code}`);
    if (answer.outcome === 'error' && answer.code === 'unexpected')
      this.history.fail(`client ${this.name}: ${answer.message}`);
    throw new TrolleyError('not_found', `no answer to a get (${answer.outcome})`);
  }

  // ---- what the proxy sends --------------------------------------------------------------------

  onFrame(frame: Uint8Array): void {
    if (!this.online) return; // offline: nothing arrives either
    this.session.receive(frame);
    if (this.session.counters.malformed > 0 || this.session.counters.unexpected > 0)
      this.history.fail(`client ${this.name} got a frame that does not decode, or is not for a client`);
  }

  /** A watcher is shown a change: recorded for the live-update check, then joined. */
  private onChanged(listId: ListId, delta: Uint8Array): void {
    if (this.client === undefined || !this.lists.includes(listId)) return;
    this.counters.shown++;
    this.history.shown(listId, delta);
    void this.trolley.receivePushed(listId, delta).catch((e: unknown) => {
      this.history.fail(`client ${this.name}: joining a pushed change threw ${String(e)}`);
    });
  }
}

/** Runs an intent-model operation through the TrolleyClient's API. */
function runOp(c: TrolleyClient, listId: ListId, op: Op): Promise<LocalOk> {
  switch (op.kind) {
    case 'rename':
      return c.rename(listId, op.title);
    case 'add':
      return c.addItem(listId, op.name, op.qty, op.note);
    case 'set':
      return c.setWanted(listId, op.name, op.qty);
    case 'inc':
      return c.increaseWanted(listId, op.name, op.n);
    case 'dec':
      return c.decreaseWanted(listId, op.name, op.n);
    case 'buy':
      return c.buy(listId, op.name, op.n);
    case 'check':
      return c.checkOff(listId, op.name);
    case 'uncheck':
      return c.uncheck(listId, op.name);
    case 'note':
      return c.setNote(listId, op.name, op.note);
    case 'remove':
      return c.removeItem(listId, op.name);
    case 'clearBought':
      return c.clearBought(listId);
    case 'delete':
      return c.deleteList(listId);
  }
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
