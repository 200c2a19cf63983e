// An in-memory cloud behind the CloudPort, for the client's unit tests: N replica states per list,
// puts joined into W of them, gets answered from the join of all N with the caller's missing delta
// and the count of replicas already holding the merged state. It keeps the two behaviours of the
// real coordinator that the client must live with (PROTOCOL.md §3):
//   - a put whose opId was acknowledged before is answered 'ok' at once, WITHOUT being applied;
//   - a timeout is 'unknown', and the write may have applied anyway (`answerUnknownAfterApply`).
// It makes the coordinator's write check, so a write the real cloud would refuse is refused.
// Faults on demand: offline (puts answer 'unknown', gets throw, as CloudClient does), lost puts,
// and `hold()` to keep requests in flight while a test does something else. `settle()` plays
// anti-entropy: every replica gets the merged state. Pure: no timers.

import {
  ListDoc,
  TrolleyError,
  checkWrite,
  decodeContext,
  decodeList,
  encodeList,
  knownFrom,
  listView,
  merge,
  missingFor,
  writerIdOf,
  type ListId,
  type ListView,
  type OpId,
} from '@trolley/core';
import type { CloudGetResult, CloudPort, CloudPutResult } from '../ports.ts';

export interface MemoryCloudOptions {
  /** N: replicas of every list. Default 3. */
  replicas?: number;
  /** W: replicas a put is written to before 'ok'. Default 2. */
  writeQuorum?: number;
}

export class MemoryCloud implements CloudPort {
  readonly n: number;
  readonly w: number;
  private readonly lists = new Map<ListId, ListDoc[]>();
  private readonly acknowledged = new Set<OpId>();
  private readonly putsByOpId = new Map<OpId, number>();
  private isOnline = true;
  private unknownAfterApply = 0;
  private putsToLose = 0;
  private gate: Promise<void> | undefined;
  readonly counters = {
    puts: 0,
    applied: 0,
    answeredFromMemory: 0,
    unknown: 0,
    lost: 0,
    gets: 0,
    refused: 0,
  };

  constructor(options: MemoryCloudOptions = {}) {
    this.n = options.replicas ?? 3;
    this.w = options.writeQuorum ?? 2;
    if (!(this.w >= 1 && this.w <= this.n)) throw new TrolleyError('invalid_argument', 'need 1 ≤ W ≤ N');
  }

  // ---- faults ------------------------------------------------------------------------------------

  setOnline(online: boolean): void {
    this.isOnline = online;
  }

  get online(): boolean {
    return this.isOnline;
  }

  /** Ends every fault: online, no more unknown answers or lost puts, nothing held. */
  heal(): void {
    this.isOnline = true;
    this.unknownAfterApply = 0;
    this.putsToLose = 0;
    this.gate = undefined;
  }

  /** The next `count` puts apply (and are acknowledged at the coordinator) but answer 'unknown'. */
  answerUnknownAfterApply(count = 1): void {
    this.unknownAfterApply += count;
  }

  /** The next `count` puts are lost on the way: not applied, 'unknown'. */
  losePuts(count = 1): void {
    this.putsToLose += count;
  }

  /** Every request waits until the returned function is called. */
  hold(): () => void {
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.gate = gate;
    return () => {
      if (this.gate === gate) this.gate = undefined;
      release();
    };
  }

  /** Anti-entropy: every replica of `listId` (or of every list) gets the merged state. */
  settle(listId?: ListId): void {
    for (const id of listId === undefined ? [...this.lists.keys()] : [listId]) {
      const merged = this.merged(id);
      this.lists.set(
        id,
        Array.from({ length: this.n }, () => merged.clone()),
      );
    }
  }

  // ---- inspection --------------------------------------------------------------------------------

  has(listId: ListId): boolean {
    return this.lists.has(listId);
  }

  /** The join of every replica of a list. */
  merged(listId: ListId): ListDoc {
    const merged = ListDoc.empty();
    for (const replica of this.lists.get(listId) ?? []) merge(merged, replica);
    return merged;
  }

  view(listId: ListId): ListView {
    return listView(this.merged(listId));
  }

  /** Puts received with this opId (including retries and ones answered from memory). */
  putsWith(opId: OpId): number {
    return this.putsByOpId.get(opId) ?? 0;
  }

  // ---- the port ----------------------------------------------------------------------------------

  async put(
    listId: ListId,
    delta: Uint8Array,
    options: { timeoutMs: number; opId: OpId; writer?: Uint8Array },
  ): Promise<CloudPutResult> {
    await this.gate;
    this.counters.puts += 1;
    this.putsByOpId.set(options.opId, this.putsWith(options.opId) + 1);
    if (!this.isOnline) return this.unknown();
    if (this.putsToLose > 0) {
      this.putsToLose -= 1;
      this.counters.lost += 1;
      return this.unknown();
    }
    if (this.acknowledged.has(options.opId)) {
      this.counters.answeredFromMemory += 1;
      return { outcome: 'ok', acks: this.w, replicas: this.n };
    }
    const decoded = decodeList(delta);
    if (!decoded.ok)
      throw new TrolleyError('invalid_argument', `the cloud refused: malformed: ${decoded.error.message}`);
    // The coordinator's write check (crdt/write-check.ts), against everything the cloud holds.
    const known = this.merged(listId);
    const writer = options.writer === undefined ? undefined : writerIdOf(options.writer);
    const refusal = checkWrite(
      decoded.value,
      delta.length,
      writer,
      knownFrom(known, encodeList(known).length),
    );
    if (refusal !== undefined) {
      this.counters.refused += 1;
      const code = refusal.code === 'limit_exceeded' ? 'limit_exceeded' : 'invalid_argument';
      throw new TrolleyError(code, `the cloud refused: ${refusal.code}: ${refusal.message}`);
    }
    const replicas = this.replicasOf(listId);
    for (const replica of replicas.slice(0, this.w)) merge(replica, decoded.value);
    this.counters.applied += 1;
    this.acknowledged.add(options.opId);
    if (this.unknownAfterApply > 0) {
      this.unknownAfterApply -= 1;
      return this.unknown();
    }
    return { outcome: 'ok', acks: this.w, replicas: this.n };
  }

  async get(listId: ListId, context: Uint8Array, _options: { timeoutMs: number }): Promise<CloudGetResult> {
    await this.gate;
    this.counters.gets += 1;
    if (!this.isOnline)
      throw new TrolleyError('not_found', 'no proxy answered in time; is the cloud running?');
    const asked = decodeContext(context);
    if (!asked.ok)
      throw new TrolleyError('invalid_argument', `the cloud refused: malformed: ${asked.error.message}`);
    const merged = this.merged(listId);
    const mergedBytes = encodeList(merged);
    const replicas = this.lists.get(listId);
    const inSync =
      replicas === undefined ? this.n : replicas.filter((r) => sameBytes(encodeList(r), mergedBytes)).length;
    const delta = missingFor(merged, asked.value.ctx, asked.value.replicas);
    return { delta: encodeList(delta), answered: this.n, inSync, replicas: this.n };
  }

  private unknown(): CloudPutResult {
    this.counters.unknown += 1;
    return { outcome: 'unknown', acks: 0, replicas: 0 };
  }

  private replicasOf(listId: ListId): ListDoc[] {
    let replicas = this.lists.get(listId);
    if (replicas === undefined) {
      replicas = Array.from({ length: this.n }, () => ListDoc.empty());
      this.lists.set(listId, replicas);
    }
    return replicas;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
