// Trolley's client side of the live benchmark, whatever carries its deltas (systems/trolley.ts:
// the cloud; systems/relay.ts: the relays): a ListReplica per client, a change as one delta (the
// operation joined with the client's marker, the note of a hidden per-client item `~m<client>`),
// and what a client reports once it has joined a delta.

import { ListReplica, merge, type ListDoc, type ReplicaId } from '@trolley/core';
import type { Model, Op } from '../../crdt/stream.ts';
import { trolleyApply } from '../../crdt/impls.ts';
import type { ClientContext, Marker, Sighting } from './types.ts';

const isMarker = (key: string): boolean => key.startsWith('~m');

export class ListClient {
  readonly replica: ListReplica;
  /** The client's hidden marker item. */
  readonly hidden: string;

  constructor(private readonly ctx: ClientContext) {
    this.replica = new ListReplica(`c${ctx.client}x${ctx.seed.toString(36)}` as ReplicaId);
    this.hidden = `~m${ctx.client}`;
  }

  /** The delta that adds the client's marker item (its first write). */
  addMarker(): ListDoc {
    return this.replica.addItem(this.hidden, 1, '0');
  }

  /** The delta of `op` with the marker in it: a peer that reads the marker has the change. */
  change(op: Op, marker: Marker): ListDoc {
    const delta = trolleyApply(this.replica, op);
    merge(delta, this.replica.setNote(this.hidden, String(marker.seq)));
    return delta;
  }

  /**
   * Reports the markers of these item keys (all items: undefined) as the replica now reads them.
   * A delta names the keys it touched, so the client reads just those, as Yjs's client reads the
   * keys an update touched (observe()).
   */
  report(keys?: Iterable<string>): void {
    const { replica } = this;
    const seen: Sighting[] = [];
    const items = keys === undefined ? replica.view().items : [...keys].map((k) => replica.item(k));
    for (const item of items) {
      if (item === undefined || !isMarker(item.key)) continue;
      const seq = Number(item.note ?? '0');
      if (seq > 0) seen.push({ client: Number(item.key.slice(2)), seq });
    }
    if (seen.length > 0) this.ctx.onRemote(seen);
  }

  /** Joins a received delta and reports what it brought. */
  receive(doc: ListDoc): void {
    this.replica.apply(doc);
    this.report(doc.items.keys());
  }

  /** The list as the benchmark compares it (the markers left out). */
  view(): Model {
    const model: Model = new Map();
    for (const item of this.replica.view().items)
      if (!isMarker(item.key))
        model.set(item.key, { name: item.name, wanted: item.wanted, bought: item.bought });
    return model;
  }

  stateDigest(): string {
    return JSON.stringify(this.replica.state.ctx.vv);
  }
}
