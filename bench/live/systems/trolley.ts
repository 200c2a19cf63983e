// Trolley in the live benchmark: the real cloud (a proxy and 3 storage nodes, N=3 R=2 W=2, as
// child processes with their data in a temporary folder) and clients that each hold a ListReplica.
// A change is one delta: the operation joined with the client's marker (the note of a hidden
// per-client item `~m<client>`), put and acknowledged at W=2. Each client asks the proxy where the
// list lives (`locate`) and then writes and watches at the front (client port) of the list's
// coordinator, the proxy behind it for failover. Once the coordinator has accepted a put (decoded,
// write check, sent to the replicas), its front pushes the write (`changed`) to the watchers; each
// joins it and reports the markers it can now read. So a change goes: put → accepted → push →
// applied, two hops, while the W commits run beside it (live before durable; the writer still
// waits for cloud-ok). `npm run live:hops -w bench` splits that path into its hops, through the
// proxy and direct.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ListReplica,
  decodeList,
  encodeContext,
  encodeList,
  newListId,
  parseListId,
  type ListId,
  type ReplicaId,
} from '@trolley/core';
import { CloudClient, cryptoRandom } from '@trolley/node';
import { LocalCluster, freePort } from '../../../apps/cli/src/local-cluster.ts';
import type { Op } from '../../crdt/stream.ts';
import { ListClient } from './list-client.ts';
import type { Json, LiveClient, LiveSystem, Marker } from './types.ts';

function endpointOf(endpoint: Json): { cloud: string; listId: ListId } {
  if (typeof endpoint === 'object' && endpoint !== null && !Array.isArray(endpoint)) {
    const { cloud, listId } = endpoint;
    if (typeof cloud === 'string' && typeof listId === 'string')
      return { cloud, listId: parseListId(listId) };
  }
  throw new Error(`trolley: bad endpoint ${JSON.stringify(endpoint)}`);
}

export const system: LiveSystem = {
  name: 'trolley',

  describe: () =>
    "trolley: proxy + 3 storage nodes (N=3 R=2 W=2, SQLite FULL), ZeroMQ, clients at the coordinator's front, push via watch/changed",

  async startServer() {
    const dir = mkdtempSync(join(tmpdir(), 'trolley-live-'));
    // Diagnostics only (the benchmark's figures are N=3, secure): LIVE_TROLLEY_N=1 keeps one copy
    // of the list (R = W = 1), LIVE_TROLLEY_INSECURE=1 turns CURVE off, to see what each costs.
    const n = process.env.LIVE_TROLLEY_N === '1' ? 1 : 3;
    const cluster = await LocalCluster.plan({
      nodes: 3,
      dataDir: dir,
      quorum: n === 1 ? { n: 1, r: 1, w: 1 } : { n: 3, r: 2, w: 2 },
      proxyPort: await freePort(),
      partitions: 64,
      secure: process.env.LIVE_TROLLEY_INSECURE !== '1',
    });
    await cluster.start();
    const listId = newListId(cryptoRandom);
    const client = new CloudClient([cluster.clientEndpoint]);
    const setup = await client.put(listId, encodeList(new ListReplica('setup' as ReplicaId).rename('Live')));
    client.close();
    if (setup.outcome !== 'ok') throw new Error('trolley: could not create the list');
    const pids = [cluster.proxyPid(0), ...[0, 1, 2].map((i) => cluster.nodePid(i))].filter(
      (p): p is number => p !== undefined,
    );
    return {
      endpoint: { cloud: cluster.clientEndpoint, listId },
      pids,
      close: async () => {
        await cluster.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },

  async createClient(ctx) {
    const { cloud: endpoint, listId } = endpointOf(ctx.endpoint);
    // Each client asks the proxy where the list lives and speaks to its coordinator's front, with
    // the proxy behind it (as CloudClient.locate describes).
    const ask = new CloudClient([endpoint]);
    const fronts = await ask.locate(listId).finally(() => ask.close());
    const cloud = new CloudClient([...fronts.slice(0, 1), endpoint]);
    const me = new ListClient(ctx);
    const { replica } = me;
    // One pull at a time; a notice during a pull asks for one more.
    let pulling = false;
    let again = false;
    const pull = async (): Promise<void> => {
      if (pulling) {
        again = true;
        return;
      }
      pulling = true;
      try {
        do {
          again = false;
          const reply = await cloud.get(listId, encodeContext(replica.state.ctx, replica.state.replicas), {
            timeoutMs: 5_000,
          });
          const doc = decodeList(reply.delta);
          if (doc.ok) replica.apply(doc.value);
          me.report();
        } while (again);
      } catch {
        // a pull that failed is retried by the next notice
      } finally {
        pulling = false;
      }
    };
    await pull();
    if ((await cloud.put(listId, encodeList(me.addMarker()), { timeoutMs: 10_000 })).outcome !== 'ok')
      throw new Error('trolley: the first put was not acknowledged');
    // A notice carries the write itself: join it and report at once (no round trip). A notice
    // without one, or a gap (a lost notice), is covered by a pull.
    const stopWatching = cloud.watch([listId], (_id, bytes) => {
      const doc = bytes.length > 0 ? decodeList(bytes) : undefined;
      if (doc?.ok === true) me.receive(doc.value);
      else void pull();
    });

    const client: LiveClient = {
      async apply(op: Op, marker: Marker) {
        const delta = me.change(op, marker);
        const opId = cloud.newOpId();
        for (let attempt = 0; attempt < 5; attempt++) {
          const result = await cloud.put(listId, encodeList(delta), { timeoutMs: 5_000, opId });
          if (result.outcome === 'ok') return;
        }
      },
      view: () => me.view(),
      stateDigest: () => me.stateDigest(),
      close: async () => {
        stopWatching();
        cloud.close();
        await Promise.resolve();
      },
    };
    return client;
  },
};
