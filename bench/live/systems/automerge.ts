// Automerge over automerge-repo's WebSocket sync, a baseline of the live benchmark.
//
// Server: a Repo with a WebSocketServerAdapter (the adapter once called NodeWSServerAdapter) on a
// `ws` WebSocketServer, no storage (documents live in memory), sharePolicy "never announce" as in
// automerge-repo-sync-server: it syncs documents that clients ask for. It creates the one list
// document; its URL is part of the endpoint. Client: a Repo with a WebSocketClientAdapter (works
// in Node through isomorphic-ws → ws) that find()s the document. Defaults everywhere: in
// particular automerge-repo throttles each document's outgoing sync to one round per 100 ms
// (DocSynchronizer.syncDebounceRate), which is part of what is measured.
// The list is modelled as in bench/crdt/impls.ts (amApply / amRead: a map of items with
// ImmutableString names and Counter quantities), under `items`; the marker is `markers[client]`,
// an ImmutableString set in the same change. Receivers read the markers on every "change" event.

import type { AddressInfo } from 'node:net';
import { Repo, type AutomergeUrl, type PeerId } from '@automerge/automerge-repo';
import { WebSocketClientAdapter, WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket';
import * as Automerge from '@automerge/automerge';
import { WebSocketServer } from 'ws';
import { amApply, amRead, type AmList } from '../../crdt/impls.ts';
import { packageVersion } from '../package-version.ts';
import {
  encodeMarker,
  parseMarker,
  type Json,
  type LiveClient,
  type LiveSystem,
  type Marker,
} from './types.ts';

interface LiveDoc {
  items: AmList;
  markers: Record<string, Automerge.ImmutableString>;
}

function endpointOf(endpoint: Json): { url: string; docUrl: AutomergeUrl } {
  if (typeof endpoint === 'object' && endpoint !== null && !Array.isArray(endpoint)) {
    const { url, docUrl } = endpoint;
    if (typeof url === 'string' && typeof docUrl === 'string') return { url, docUrl: docUrl as AutomergeUrl };
  }
  throw new Error(`automerge: bad endpoint ${JSON.stringify(endpoint)}`);
}

export const system: LiveSystem = {
  name: 'automerge',

  describe: () =>
    `@automerge/automerge ${packageVersion('@automerge/automerge')}, ` +
    `automerge-repo ${packageVersion('@automerge/automerge-repo')}, ` +
    `automerge-repo-network-websocket ${packageVersion('@automerge/automerge-repo-network-websocket')}, ` +
    `ws ${packageVersion('ws')}`,

  async startServer() {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => {
      wss.once('error', reject);
      wss.once('listening', () => resolve());
    });
    const { port } = wss.address() as AddressInfo;
    const repo = new Repo({
      // The adapter's parameter type comes from isomorphic-ws's view of ws (the CJS typings);
      // it is the same class.
      network: [
        new WebSocketServerAdapter(wss as unknown as ConstructorParameters<typeof WebSocketServerAdapter>[0]),
      ],
      peerId: 'sync-server' as PeerId,
      sharePolicy: () => Promise.resolve(false),
    });
    const handle = repo.create<LiveDoc>({ items: {}, markers: {} });
    return {
      endpoint: { url: `ws://127.0.0.1:${port}`, docUrl: handle.url },
      async close() {
        await repo.shutdown();
        for (const c of wss.clients) c.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      },
    };
  },

  async createClient(ctx) {
    const { url, docUrl } = endpointOf(ctx.endpoint);
    const me = String(ctx.client);
    const repo = new Repo({
      network: [new WebSocketClientAdapter(url)],
      peerId: `client-${ctx.client}-${ctx.seed.toString(16)}` as PeerId,
    });
    const handle = await repo.find<LiveDoc>(docUrl);
    /** The marker string last reported per client, so that only new ones are passed on. */
    const last = new Map<string, string>();
    handle.on('change', ({ doc }) => {
      const seen: Marker[] = [];
      for (const [key, value] of Object.entries(doc.markers)) {
        if (key === me) continue;
        const s = value.toString();
        if (last.get(key) === s) continue;
        last.set(key, s);
        const marker = parseMarker(s);
        if (marker !== undefined) seen.push(marker);
      }
      if (seen.length > 0) ctx.onRemote(seen);
    });
    const client: LiveClient = {
      apply(op, marker) {
        handle.change((d) => {
          amApply(d.items, op);
          d.markers[me] = new Automerge.ImmutableString(encodeMarker(marker));
        });
      },
      view: () => amRead(handle.doc().items),
      stateDigest: () => [...handle.heads()].sort().join(','),
      close: () => repo.shutdown(),
    };
    return client;
  },
};
