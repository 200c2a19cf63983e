// Who watches which list, for live updates (DESIGN.md §3, "live updates"): the table a proxy keeps
// of its clients' watches, and a gateway of its browser connections'. Each client's watches are
// one set that its every `watch` message replaces (at most perClientMax lists), optionally a lease
// that lapses unless renewed. The whole table holds at most `capacity` (client, list) entries.
//
// Fairness when the table is full: max-min fairness (water-filling, as in fair queueing). A client
// asking for more than it holds may take room only from the client holding the most, and only
// while that one would still hold more than the asker afterwards; what it cannot get that way is
// refused (and the caller answers `overloaded`). So an attacker that asks for a lot ends up with
// about capacity / clients, a client holding few (at or below an equal share) never loses any, and
// a newcomer always gets min(what it asks, its fair share). We chose this over refusing every
// newcomer once the table is full because then whoever fills the table first keeps it for good:
// one attacker would lock out every honest client that arrives after it.
//
// The limit of this (and of any fairness by connection): a client is a connection. An attacker
// with k connections gets k shares; an honest client is squeezed below its demand only once the
// equal share capacity / clients falls below it (for the defaults: 100 000 / 5 lists = 20 000
// connections to squeeze a client watching 5 lists). Telling clients apart by key needs
// authentication, which is a later issue.
//
// Costs: a replace is O(lists asked for + entries taken), and finding the client holding the most
// is a walk down perClientMax buckets of clients by size (amortised: the pointer only moves down
// as buckets empty, and up by one bucket at a time as clients grow). Pure: time comes in as
// arguments.

import { assert } from '@trolley/core';

export interface WatchTableOptions {
  /** (client, list) entries the table holds at most. */
  capacity: number;
  /** Lists one client may watch at most (a longer request is cut to this, the excess refused). */
  perClientMax: number;
  /** A client's watches lapse this long after its last `replace` (undefined: never). */
  leaseMs?: number;
}

/** What became of one `replace`. */
export interface WatchOutcome {
  /** Lists the client now watches (the first ones it asked for, without duplicates). */
  watched: number;
  /** Distinct lists it asked for that it does not watch: no room (or past perClientMax). */
  refused: number;
  /** Entries taken from other clients to make room, per client key. */
  taken: Map<string, number>;
}

interface Watcher<C> {
  key: string;
  client: C;
  lists: Set<string>;
  untilMs: number;
}

export class WatchTable<C> {
  /** Client key → its watches; in the order of their last replace, so of lease expiry. */
  private readonly clients = new Map<string, Watcher<C>>();
  /** List → the keys of the clients watching it. */
  private readonly byList = new Map<string, Set<string>>();
  /** bySize[s]: keys of the clients holding s lists (s ≥ 1). */
  private readonly bySize: Set<string>[] = [];
  /** No bucket above this holds a client. */
  private sizeTop = 0;
  private entryCount = 0;
  private listsChanged = 0;

  constructor(private readonly o: WatchTableOptions) {
    assert(o.capacity >= 1 && o.perClientMax >= 1, 'a watch table must hold something');
    for (let s = 0; s <= o.perClientMax; s++) this.bySize.push(new Set());
  }

  /** (client, list) entries held now. */
  get entries(): number {
    return this.entryCount;
  }

  /** Clients holding at least one watch. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Lists watched by at least one client. */
  get listCount(): number {
    return this.byList.size;
  }

  /** Changes whenever a list becomes watched by someone or by nobody (a gateway re-sends its union then). */
  get listsVersion(): number {
    return this.listsChanged;
  }

  /** Every list watched by at least one client. */
  lists(): IterableIterator<string> {
    return this.byList.keys();
  }

  /** Lists the client `key` watches now (0 if none, or its lease lapsed and was swept). */
  heldBy(key: string): number {
    return this.clients.get(key)?.lists.size ?? 0;
  }

  /**
   * Replaces the watched set of the client `key` (reached through `client`) with `listIds`, as
   * far as there is room (see the file's comment); renews its lease. An empty list stops watching.
   */
  replace(key: string, client: C, listIds: readonly string[], nowMs: number): WatchOutcome {
    const taken = new Map<string, number>();
    const wanted = [...new Set(listIds)];
    const old = this.clients.get(key);
    if (old !== undefined) this.clients.delete(key); // re-inserted below: last renewed goes last
    const w: Watcher<C> = old ?? { key, client, lists: new Set(), untilMs: 0 };
    w.client = client;
    w.untilMs = this.o.leaseMs === undefined ? Infinity : nowMs + this.o.leaseMs;
    const keep = new Set(wanted.slice(0, this.o.perClientMax));
    for (const id of [...w.lists]) if (!keep.has(id)) this.unwatch(w, id);
    // The lists it already holds are its own; only new ones need room.
    let refused = wanted.length - keep.size;
    let swept = false;
    for (const id of keep) {
      if (w.lists.has(id)) continue;
      if (this.entryCount >= this.o.capacity && !swept) {
        swept = true;
        this.expire(nowMs);
      }
      if (this.entryCount >= this.o.capacity) {
        const victim = this.largestOther(w);
        if (victim === undefined) {
          refused++;
          continue;
        }
        const oldest = victim.lists.values().next();
        assert(oldest.done !== true, 'a client in a size bucket holds lists');
        this.unwatch(victim, oldest.value);
        taken.set(victim.key, (taken.get(victim.key) ?? 0) + 1);
        if (victim.lists.size === 0) this.clients.delete(victim.key);
      }
      this.watch(w, id);
    }
    if (w.lists.size > 0) this.clients.set(key, w);
    return { watched: w.lists.size, refused, taken };
  }

  /** Forgets every watch of the client `key` (a closed connection). */
  remove(key: string): void {
    const w = this.clients.get(key);
    if (w === undefined) return;
    for (const id of [...w.lists]) this.unwatch(w, id);
    this.clients.delete(key);
  }

  /** The clients watching `listId` whose lease has not lapsed. */
  watchersOf(listId: string, nowMs: number): C[] {
    const keys = this.byList.get(listId);
    if (keys === undefined) return [];
    const out: C[] = [];
    for (const key of keys) {
      const w = this.clients.get(key);
      if (w !== undefined && w.untilMs > nowMs) out.push(w.client);
    }
    return out;
  }

  /** Whether some client's lease on `listId` has not lapsed. */
  isWatched(listId: string, nowMs: number): boolean {
    for (const key of this.byList.get(listId) ?? []) {
      const w = this.clients.get(key);
      if (w !== undefined && w.untilMs > nowMs) return true;
    }
    return false;
  }

  /** Drops the clients whose lease has lapsed; returns how many. */
  expire(nowMs: number): number {
    let dropped = 0;
    // Renewals re-insert a client at the end, and every lease is equally long: the first client
    // whose lease holds ends the sweep.
    for (const w of this.clients.values()) {
      if (w.untilMs > nowMs) break;
      this.remove(w.key);
      dropped++;
    }
    return dropped;
  }

  /**
   * The client holding the most, if it holds at least two more than `w` (taking one then leaves it
   * holding more than `w` will): the only one room may be taken from, by max-min fairness.
   */
  private largestOther(w: Watcher<C>): Watcher<C> | undefined {
    while (this.sizeTop > 0 && this.bySize[this.sizeTop]?.size === 0) this.sizeTop--;
    if (this.sizeTop < w.lists.size + 2) return undefined;
    for (const key of this.bySize[this.sizeTop] ?? []) {
      const victim = this.clients.get(key);
      assert(victim !== undefined && victim !== w, 'size buckets hold only other, known clients');
      return victim;
    }
    return undefined;
  }

  private watch(w: Watcher<C>, listId: string): void {
    this.move(w, w.lists.size, w.lists.size + 1);
    w.lists.add(listId);
    let keys = this.byList.get(listId);
    if (keys === undefined) {
      keys = new Set();
      this.byList.set(listId, keys);
      this.listsChanged++;
    }
    keys.add(w.key);
    this.entryCount++;
  }

  private unwatch(w: Watcher<C>, listId: string): void {
    if (!w.lists.delete(listId)) return;
    this.move(w, w.lists.size + 1, w.lists.size);
    const keys = this.byList.get(listId);
    keys?.delete(w.key);
    if (keys?.size === 0) {
      this.byList.delete(listId);
      this.listsChanged++;
    }
    this.entryCount--;
  }

  private move(w: Watcher<C>, from: number, to: number): void {
    if (from > 0) this.bySize[from]?.delete(w.key);
    if (to > 0) this.bySize[to]?.add(w.key);
    if (to > this.sizeTop) this.sizeTop = to;
  }
}
