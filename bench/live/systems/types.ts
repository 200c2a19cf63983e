// What a system must provide to take part in the live-update benchmark (`npm run bench:live`).
//
// A system is a module in this folder named after it (yjs.ts, automerge.ts, trolley.ts) that
// exports `system: LiveSystem`. The harness uses it in two kinds of processes:
// - the server process (server-process.ts) calls startServer() once and hands the endpoint it
//   returns to every client; the server side's CPU and memory are those of that process plus any
//   other processes the server names in `pids` (all read by the driver from /proc);
// - each client process (client-process.ts) calls createClient() four times, once per client.
//   It then drives the clients: every 200 ms each one reads its view(), picks a seeded change
//   valid against it (workload.ts) and calls apply(op, marker). The system must make the marker
//   travel inside the same update as the change (same transaction / change / delta), so a peer
//   that sees the marker has the change.
// A receiving client reports what it sees through ctx.onRemote(markers), stamped with the time of
// the call, so call it as soon as a remote update has been applied locally (from the library's
// change event). It may report any markers it can read at that point: markers of its own client,
// repeated ones and old ones are ignored, and a marker `client:seq` counts as seeing every earlier
// change of that client too (the three systems deliver one client's changes in order), so a
// system that keeps only each client's latest marker (a map client → latest marker, as the
// baselines do) loses nothing when updates are batched.
//
// Times are epoch milliseconds from nowMs() (performance.timeOrigin + performance.now()); all
// processes run on one machine, so they are comparable across processes.

import { performance } from 'node:perf_hooks';
import type { Model, Op } from '../../crdt/stream.ts';

export type { Model, Op } from '../../crdt/stream.ts';

export const SYSTEM_NAMES = ['trolley', 'yjs', 'automerge', 'relay-zmq', 'relay-ws'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];
/**
 * What runs without LIVE_SYSTEMS. The relays (relay.ts) are diagnostics, run only when named: they
 * split Trolley's figures into what the transport and the client's CRDT cost, and what the cloud
 * adds.
 */
export const DEFAULT_SYSTEMS: readonly SystemName[] = ['trolley', 'yjs', 'automerge'];

/** A JSON value (endpoints cross process boundaries as JSON). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Identifies one change: client `client` (0…clients−1) made its `seq`-th change (from 1) at `sentAt`. */
export interface Marker {
  readonly client: number;
  readonly seq: number;
  /** Epoch ms (nowMs()) when the change was made. */
  readonly sentAt: number;
}

/**
 * What a receiver reports: which change it sees. The send time is optional there: latency is
 * computed from the sender's own record of `sentAt` (the value it put in the marker).
 */
export type Sighting = Pick<Marker, 'client' | 'seq'> & Partial<Pick<Marker, 'sentAt'>>;

export interface LiveServer {
  /** What clients need to reach the server and find the list (URLs, document or list IDs). */
  readonly endpoint: Json;
  /**
   * Other processes that are part of the server side (e.g. storage nodes and proxies it spawned):
   * their CPU and RSS count too. They must be alive from startServer() until close().
   */
  readonly pids?: readonly number[];
  /** Stops the server and everything it started. */
  close(): Promise<void>;
}

export interface ClientContext {
  /** The endpoint returned by startServer(). */
  readonly endpoint: Json;
  /** This client's number, 0…clients−1, unique across all processes. */
  readonly client: number;
  readonly clients: number;
  /** A seed for anything the client draws (replica IDs); derived from the run's seed and `client`. */
  readonly seed: number;
  /** Call when remote changes have been applied locally, with markers now visible (see above). */
  readonly onRemote: (markers: readonly Sighting[]) => void;
}

export interface LiveClient {
  /**
   * Makes `op` locally and sends it, with `marker` in the same update. `op` is valid against the
   * last view() (an item it names is present). May return a promise; the next change of this
   * client waits for it.
   */
  apply(op: Op, marker: Marker): void | Promise<void>;
  /** The list as this client sees it now (normalised key → display name, wanted, bought). */
  view(): Model;
  /**
   * Optional: a short digest of the replica's state (e.g. Automerge heads, a Yjs state vector, a
   * causal context), equal on two clients exactly when they hold the same changes. Only used to
   * explain a failed convergence check: same state but different views, or different states.
   */
  stateDigest?(): string;
  /** Disconnects and frees everything. */
  close(): Promise<void>;
}

export interface LiveSystem {
  readonly name: SystemName;
  /** One line for the table, e.g. the libraries and versions used. */
  describe(): string;
  /** Starts the server side, with one empty shared list; resolves once clients can connect. */
  startServer(): Promise<LiveServer>;
  /** A client connected to the list; resolves once it is connected and has the list. */
  createClient(ctx: ClientContext): Promise<LiveClient>;
}

/** Epoch milliseconds, comparable across processes on one machine. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** `client:seq@sentAt`, the marker as a string (for systems that carry it as a string). */
export const encodeMarker = (m: Marker): string => `${m.client}:${m.seq}@${m.sentAt}`;

export function parseMarker(s: string): Marker | undefined {
  const match = /^(\d+):(\d+)@([\d.]+)$/.exec(s);
  if (match === null) return undefined;
  return { client: Number(match[1]), seq: Number(match[2]), sentAt: Number(match[3]) };
}
