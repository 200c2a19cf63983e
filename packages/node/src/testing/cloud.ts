// A secure cloud in one process for end-to-end tests: a proxy and storage nodes over ZeroMQ on
// loopback, every socket CURVE, keys made in the test's folder, as production runs them.

import { join } from 'node:path';
import { parseNodeId } from '@trolley/core';
import { silentLogger, type Quorum } from '@trolley/cloud';
import { withKey, writeMemberKey } from '../keys.ts';
import { startNode, type RunningNode } from '../node-server.ts';
import { startProxy, type RunningProxy } from '../proxy-server.ts';
import { freePort } from './until.ts';

export interface TestCloud {
  proxy: RunningProxy;
  /** The proxy's client port with its key, as clients dial it. */
  proxyAddress: string;
  nodes: RunningNode[];
}

/** Starts a proxy and one node per ID (the first ring: all of them), in `dir`. */
export async function startTestCloud(o: {
  dir: string;
  nodeIds: readonly string[];
  quorum: Quorum;
  /** Give each node a front (a client port of its own). */
  fronts?: boolean;
}): Promise<TestCloud> {
  const host = '127.0.0.1';
  const keysDir = join(o.dir, 'keys');
  const proxyKey = writeMemberKey(keysDir, 'proxy-1', 'proxy').publicKey;
  for (const id of o.nodeIds) writeMemberKey(keysDir, id, 'node');
  const clientPort = await freePort();
  const nodePort = await freePort();
  const proxy = await startProxy({
    keysDir,
    name: 'proxy-1',
    clientEndpoint: `tcp://${host}:${clientPort}`,
    nodeEndpoint: `tcp://${host}:${nodePort}`,
    replicas: o.quorum.n,
    logger: silentLogger,
  });
  const members = await Promise.all(
    o.nodeIds.map(async (id) => ({ id: parseNodeId(id), address: `tcp://${host}:${await freePort()}` })),
  );
  const nodes: RunningNode[] = [];
  for (const m of members)
    nodes.push(
      await startNode({
        id: m.id,
        listen: m.address,
        advertise: m.address,
        dataDir: join(o.dir, m.id),
        proxies: [withKey(`tcp://${host}:${nodePort}`, proxyKey)],
        keysDir,
        seeds: members.filter((x) => x.id !== m.id),
        members,
        quorum: o.quorum,
        partitionCount: 64,
        logger: silentLogger,
        helloIntervalMs: 200,
        ...(o.fronts === true ? { front: { listen: `tcp://${host}:0` } } : {}),
      }),
    );
  return { proxy, proxyAddress: withKey(`tcp://${host}:${clientPort}`, proxyKey), nodes };
}
