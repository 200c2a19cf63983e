// Yjs over y-websocket, a baseline of the live benchmark.
//
// Server: the reference y-websocket server logic (setupWSConnection from @y/websocket-server's
// utils, the code behind its `y-websocket` binary) on a `ws` WebSocketServer, one in-memory
// document (gc on, no persistence). @y/websocket-server is pinned to 0.1.1: later versions need
// the Yjs 14 prereleases, while the client (y-websocket 3) and the CRDT benchmark use Yjs 13.
// Client: a Y.Doc with a WebsocketProvider (WebSocketPolyfill: ws; the BroadcastChannel is
// disabled, since Node has one and it would carry updates between the clients of one process
// without the server). The list is modelled as in bench/crdt/impls.ts (yjsApply / yjsRead: a
// Y.Map of items, per-client counter maps for quantities). The marker: a root Y.Map `markers`
// from client number to its latest marker string, set in the same transaction as the change, so
// it travels in the same update; receivers watch it with observe() on remote transactions.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setupWSConnection } from '@y/websocket-server/utils';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { WebSocket, WebSocketServer } from 'ws';
import { Rng } from '../../crdt/stream.ts';
import { yjsApply, yjsRead, type YItem } from '../../crdt/impls.ts';
import { packageVersion } from '../package-version.ts';
import {
  encodeMarker,
  parseMarker,
  type Json,
  type LiveClient,
  type LiveSystem,
  type Marker,
} from './types.ts';

const ROOM = 'shopping-list';

function endpointOf(endpoint: Json): { url: string; room: string } {
  if (typeof endpoint === 'object' && endpoint !== null && !Array.isArray(endpoint)) {
    const { url, room } = endpoint;
    if (typeof url === 'string' && typeof room === 'string') return { url, room };
  }
  throw new Error(`yjs: bad endpoint ${JSON.stringify(endpoint)}`);
}

export const system: LiveSystem = {
  name: 'yjs',

  describe: () =>
    `yjs ${packageVersion('yjs')}, y-websocket ${packageVersion('y-websocket')} client, ` +
    `@y/websocket-server ${packageVersion('@y/websocket-server')} server, ws ${packageVersion('ws')}`,

  async startServer() {
    const http = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('y-websocket');
    });
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (conn, req) => setupWSConnection(conn, req, { docName: ROOM, gc: true }));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = http.address() as AddressInfo;
    return {
      endpoint: { url: `ws://127.0.0.1:${port}`, room: ROOM },
      async close() {
        for (const c of wss.clients) c.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await new Promise<void>((resolve) => http.close(() => resolve()));
      },
    };
  },

  async createClient(ctx) {
    const { url, room } = endpointOf(ctx.endpoint);
    const doc = new Y.Doc();
    doc.clientID = new Rng(ctx.seed).uint32();
    const me = String(doc.clientID);
    const items = doc.getMap<YItem>('items');
    const markers = doc.getMap<string>('markers');
    markers.observe((event) => {
      if (event.transaction.local) return;
      const seen: Marker[] = [];
      for (const key of event.keysChanged as Set<string>) {
        const value = markers.get(key);
        const marker = value === undefined ? undefined : parseMarker(value);
        if (marker !== undefined) seen.push(marker);
      }
      if (seen.length > 0) ctx.onRemote(seen);
    });
    const provider = new WebsocketProvider(url, room, doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`yjs client ${ctx.client}: no sync in 30 s`)), 30_000);
      const onSync = (synced: boolean): void => {
        if (!synced) return;
        clearTimeout(timer);
        provider.off('sync', onSync);
        resolve();
      };
      provider.on('sync', onSync);
    });
    const client: LiveClient = {
      apply(op, marker) {
        doc.transact(() => {
          yjsApply(items, me, op);
          markers.set(String(marker.client), encodeMarker(marker));
        });
      },
      view: () => yjsRead(items),
      stateDigest: () => Buffer.from(Y.encodeStateVector(doc)).toString('base64'),
      close() {
        provider.destroy();
        doc.destroy();
        return Promise.resolve();
      },
    };
    return client;
  },
};
