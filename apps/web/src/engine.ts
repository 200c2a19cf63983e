// The web app's engine: the shared client library wired to the browser. One TrolleyClient over the
// IndexedDB store (every change is committed there before the UI says so: local-ok), one WsCloud to
// the gateway, and one LiveSync that keeps every list on this device fresh: it pushes edits soon
// after they are made, pulls when the cloud says a watched list changed, polls as a safety net, and
// backs off while the cloud is away. React reads it through `subscribe`/`snapshot`
// (useSyncExternalStore).
//
// Offline is the normal case, not an error: operations never wait for the network, and the sync
// badge of each list says where its changes are (this device only, the cloud, all replicas).

import { TrolleyError, type ListId } from '@trolley/core';
import { LiveSync, TrolleyClient, parseListRef, type ChangeFeed, type ListSummary } from '@trolley/client';
import { IdbClientStore } from './idb-client-store.ts';
import { WsCloud, type Connection } from './ws-cloud.ts';
import { savedDeviceName } from './history.ts';
import { t } from './strings.ts';
import { browserClock, browserLiveSyncEnv, browserRandom, gatewaySocketUrl } from './platform.ts';

export interface EngineSnapshot {
  /** Bumped on every change; views derived from the client are fresh for this version. */
  version: number;
  /** The lists on this device, newest first is the UI's business. */
  lists: ListSummary[];
  /** The link to the cloud (the gateway's WebSocket). */
  connection: Connection;
  /** The browser's own idea (navigator.onLine). */
  browserOnline: boolean;
  /** The last sync round's first problem, for a person to read; undefined when all is well. */
  problem: string | undefined;
}

/** Notices pushed through the gateway: the watch is re-sent by WsCloud after every reconnect. */
function gatewayFeed(cloud: WsCloud): ChangeFeed {
  return {
    start: (watching, onChanged) => {
      cloud.watch(watching());
      const stopChanged = cloud.onChanged((listId, delta) => onChanged(listId, delta));
      const stopConnection = cloud.onConnection((c) => {
        // Back online: everything may have moved while we were away; sync now, ending any backoff.
        if (c === 'online') for (const listId of watching()) onChanged(listId);
      });
      return () => {
        stopChanged();
        stopConnection();
      };
    },
  };
}

export class AppEngine {
  private readonly listeners = new Set<() => void>();
  private current: EngineSnapshot;
  private readonly stops: (() => void)[] = [];
  private watchedKey = '';

  private constructor(
    readonly client: TrolleyClient,
    private readonly store: IdbClientStore,
    private readonly cloud: WsCloud,
    private readonly live: LiveSync,
  ) {
    this.current = this.compute(0, undefined);
  }

  static async open(): Promise<AppEngine> {
    const store = await IdbClientStore.open();
    const client = await TrolleyClient.open(store, { clock: browserClock, random: browserRandom });
    client.deviceName = savedDeviceName();
    const cloud = new WsCloud({ url: gatewaySocketUrl() });
    const watching = (): ListId[] => client.lists().map((l) => l.listId);
    const ref: { engine?: AppEngine } = {};
    const live = new LiveSync(
      client,
      cloud,
      watching,
      {
        pollMs: 15_000,
        timeoutMs: 5_000,
        changeDelayMs: 25, // edits are taps, not keystrokes: push almost at once
        feed: gatewayFeed(cloud),
        onRound: (round) => ref.engine?.changed(round.problem),
      },
      browserLiveSyncEnv,
    );
    const engine = new AppEngine(client, store, cloud, live);
    ref.engine = engine;
    engine.wire();
    // Ask the browser to keep our data under storage pressure (a no-op where it is not offered).
    void navigator.storage?.persist?.().catch(() => undefined);
    return engine;
  }

  private wire(): void {
    this.stops.push(this.client.subscribe(() => this.changed()));
    this.stops.push(this.cloud.onConnection(() => this.changed()));
    // Another tab committed to the same IndexedDB: pick its changes up.
    this.stops.push(this.store.onExternalCommit(() => void this.client.refresh().catch(() => undefined)));
    const online = (): void => {
      this.cloud.setNetworkAvailable(true);
      this.changed();
    };
    const offline = (): void => {
      this.cloud.setNetworkAvailable(false);
      this.changed();
    };
    window.addEventListener('online', online);
    window.addEventListener('offline', offline);
    this.stops.push(() => {
      window.removeEventListener('online', online);
      window.removeEventListener('offline', offline);
    });
    this.cloud.setNetworkAvailable(navigator.onLine);
    this.cloud.start();
    this.live.start();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): EngineSnapshot => this.current;

  /** Creates a list and returns its ID (local-ok: it is in IndexedDB). */
  createList(title: string): Promise<ListId> {
    return this.client.createList(title);
  }

  /** Joins a list by its ID or share link; a list already here is simply opened. */
  async join(idOrLink: string): Promise<ListId> {
    const listId = parseListRef(idOrLink);
    if (this.client.has(listId)) return listId;
    return this.client.joinList(listId);
  }

  /** Takes a list off this device (the cloud keeps it). Refuses while changes of it wait. */
  forget(listId: ListId): Promise<void> {
    return this.client.forget(listId);
  }

  async close(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    await this.live.stop();
    this.cloud.close();
    await this.client.close();
  }

  private changed(problem?: string): void {
    const lists = this.client.lists();
    const key = lists.map((l) => l.listId).join(',');
    if (key !== this.watchedKey) {
      this.watchedKey = key;
      this.cloud.watch(lists.map((l) => l.listId));
    }
    this.current = this.compute(this.current.version + 1, problem ?? this.current.problem, lists);
    for (const listener of this.listeners) listener();
  }

  private compute(version: number, problem: string | undefined, lists = this.client.lists()): EngineSnapshot {
    return {
      version,
      lists,
      connection: this.cloud.connection,
      browserOnline: navigator.onLine,
      problem,
    };
  }
}

/** A person-readable message for an error from an operation (a sentence, in the app's language). */
export function errorMessage(error: unknown): string {
  if (error instanceof TrolleyError) return sentence(error.message);
  if (error instanceof Error) return t.somethingWrongWith(error.message);
  return t.somethingWrong;
}

function sentence(message: string): string {
  const s = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}
