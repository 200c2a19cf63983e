// Messages between the live benchmark's driver (run.ts) and its server and client processes, over
// Node's IPC channel (JSON). Times are epoch ms (nowMs()).

import type { Json, SystemName } from './systems/types.ts';

// ---- server process ----------------------------------------------------------------------------

export type ToServer = { type: 'stop' };

export type FromServer =
  | {
      type: 'listening';
      endpoint: Json;
      description: string;
      /** Other processes of the server side (LiveServer.pids). */
      pids: number[];
    }
  | { type: 'error'; message: string };

// ---- client processes --------------------------------------------------------------------------

export interface ClientProcessConfig {
  system: SystemName;
  endpoint: Json;
  /** This process's number; its clients are index·perProcess … index·perProcess + perProcess − 1. */
  index: number;
  perProcess: number;
  clients: number;
  seed: number;
  /** Changes each client makes, one every intervalMs. */
  changes: number;
  intervalMs: number;
}

export type ToClients =
  | { type: 'clock'; t0: number }
  | { type: 'start'; at: number }
  | { type: 'progress' }
  | { type: 'views' }
  | { type: 'finish' };

export interface ClientResult {
  client: number;
  /** sent[seq − 1]: when change seq was made (null: never made). */
  sent: (number | null)[];
  /** seen[sender][seq − 1]: when this client saw it (null: never; its own changes are null). */
  seen: (number | null)[][];
  /** Sightings implied by a later marker of the same sender (batched delivery). */
  implied: number;
  /** How late each tick ran against its schedule, ms (event-loop lag in this process). */
  tickLagMs: number[];
  /** Markers that could not be placed (unknown client, seq out of range): should be 0. */
  strayMarkers: number;
}

export interface ClientView {
  client: number;
  /** The list, canonical (workload.ts). */
  canonical: string;
  items: number;
  /** LiveClient.stateDigest(), if the system has one. */
  digest: string | null;
}

export type FromClients =
  | { type: 'ready' }
  | { type: 'clock'; t0: number; t: number }
  /** All this process's changes are made; its CPU µs and wall ms from the start until then. */
  | { type: 'sent'; cpuUs: number; wallMs: number }
  | { type: 'progress'; seen: number }
  | { type: 'views'; views: ClientView[] }
  | { type: 'result'; clients: ClientResult[]; cpuUs: number; wallMs: number }
  | { type: 'error'; message: string };
