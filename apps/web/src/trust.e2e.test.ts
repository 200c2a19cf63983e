// Trust, part 1, as real processes (a proxy and three storage nodes, N=3 R=2 W=2) and a real
// gateway: the attacks that once hid honest devices' changes or made a list unreadable, replayed
// through the proxy's client port (ZeroMQ) and through the browser gateway (WebSocket). Honest
// devices are the production client engine (TrolleyClient) with writer IDs (core ids.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';
import {
  ListDoc,
  ListReplica,
  TrolleyError,
  dot,
  encodeList,
  limits,
  newWriterSecret,
  opIdFrom,
  writerIdOf,
  type ListId,
} from '@trolley/core';
import { MemoryClientStore, TrolleyClient, type CloudPort } from '@trolley/client';
import { CloudClient, CloudRefusedError, cryptoRandom, systemClock } from '@trolley/node';
import { TestCluster, disposeAll } from '../../cli/src/testing/test-cluster.ts';
import { ClientPorts, sum } from '../../cli/src/testing/cloud-checks.ts';
import { startGateway, type RunningGateway } from '../server/gateway.ts';
import { WsCloud } from './ws-cloud.ts';

const WebSocketImpl = NodeWebSocket as unknown as typeof WebSocket;
const timeoutMs = 50_000; // request deadlines: a hang guard below the cloud's 60 s cap

let tc: TestCluster;
/** Every line the cloud's processes logged (pino JSON), by process name. */
const logs: { name: string; line: string }[] = [];
let gateway: RunningGateway;
const clouds: { close(): void }[] = [];
const devices: TrolleyClient[] = [];

beforeAll(async () => {
  tc = await TestCluster.start({ nodes: 3, stderr: (name, line) => logs.push({ name, line }) });
  gateway = await startGateway({ cloud: tc.cluster.clientEndpoints, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  for (const d of devices) await d.close();
  for (const c of clouds) c.close();
  await gateway?.stop();
  await disposeAll();
});

function zmqCloud(): CloudClient {
  const c = new CloudClient(tc.cluster.clientEndpoints);
  clouds.push(c);
  return c;
}

async function wsCloud(): Promise<WsCloud> {
  const c = new WsCloud({ url: `${gateway.url.replace(/^http/, 'ws')}sync`, WebSocketImpl });
  clouds.push(c);
  c.start();
  for (let i = 0; c.connection !== 'online'; i++) {
    if (i > 6_000) throw new Error('the gateway never came online');
    await new Promise((r) => setTimeout(r, 10));
  }
  return c;
}

async function device(): Promise<TrolleyClient> {
  const d = await TrolleyClient.open(new MemoryClientStore(), { clock: systemClock, random: cryptoRandom });
  devices.push(d);
  return d;
}

/** Syncs until nothing waits and every request was answered (an honest write may be refused once while a coordinator catches up). */
async function syncAll(d: TrolleyClient, cloud: CloudPort): Promise<void> {
  for (let round = 0; ; round++) {
    const s = await d.syncOnce(cloud, { timeoutMs });
    if (s.errors === 0 && s.unknown === 0 && s.outboxLeft === 0) return;
    if (round > 50) throw new Error(`sync never completed: ${JSON.stringify(s)}`);
  }
}

/** A put that bypasses the client engine, as an attacker sends it. */
function craftedPut(cloud: CloudClient | WsCloud, listId: ListId, delta: ListDoc, writer?: Uint8Array) {
  return cloud.put(listId, encodeList(delta), {
    timeoutMs,
    opId: opIdFrom(cryptoRandom.fill(new Uint8Array(16))),
    ...(writer === undefined ? {} : { writer }),
  });
}

/** The attack's delta: a context, no items, claiming counters of these replicas up to `to`. */
function claimAll(replicaIds: readonly string[], to: number): ListDoc {
  const doc = new ListDoc(false);
  for (const id of replicaIds) {
    const r = doc.replicas.intern(id);
    for (let c = 1; c <= 3; c++) doc.ctx.add(dot(r, c));
    doc.ctx.vv[r] = to;
  }
  return doc;
}

async function refusal(put: Promise<unknown>): Promise<string> {
  try {
    await put;
    return 'accepted';
  } catch (error) {
    if (error instanceof CloudRefusedError) return error.wireCode;
    if (error instanceof TrolleyError)
      return error.message.match(/: (refused|limit_exceeded):/)?.[1] ?? error.message;
    throw error;
  }
}

describe('trust: nothing a client sends can hide another device’s changes or break a list', () => {
  it('a context claiming every counter of the devices is refused; their later changes reach each other', async () => {
    const zmq = zmqCloud();
    const ws = await wsCloud();
    const alice = await device();
    const bob = await device();
    const listId = await alice.createList('Weekend');
    await alice.addItem(listId, 'Milk', 1);
    await syncAll(alice, zmq);
    await bob.joinList(listId);
    await syncAll(bob, ws);
    expect(bob.view(listId).items.map((i) => i.key)).toEqual(['milk']);

    // The attack, through the proxy and through the gateway: a few bytes of context, no items.
    const crafted = claimAll([alice.replicaId, bob.replicaId], 4_000_000_000);
    const viaProxy = await refusal(craftedPut(zmq, listId, crafted));
    const viaGateway = await refusal(craftedPut(ws, listId, crafted));
    // A forged change under alice's name (her next counters), through both.
    const forged = new ListReplica(alice.replicaId);
    forged.state.ctx.vv[forged.state.replicas.intern(alice.replicaId)] = 50;
    const forgedDelta = forged.addItem('Poison', 1);
    const forgedViaProxy = await refusal(craftedPut(zmq, listId, forgedDelta, newWriterSecret(cryptoRandom)));
    const forgedViaGateway = await refusal(craftedPut(ws, listId, forgedDelta));
    expect([viaProxy, viaGateway, forgedViaProxy, forgedViaGateway]).toEqual([
      'refused',
      'refused',
      'refused',
      'refused',
    ]);

    // Twenty honest changes, ten from each device (one through the proxy, one through the gateway).
    for (let i = 0; i < 10; i++) {
      await alice.addItem(listId, `Alice ${i}`, 1);
      await bob.addItem(listId, `Bob ${i}`, 1);
      await syncAll(alice, zmq);
      await syncAll(bob, ws);
    }
    await syncAll(alice, zmq);
    const seenByAlice = alice.view(listId).items.filter((i) => i.key.startsWith('bob ')).length;
    const seenByBob = bob.view(listId).items.filter((i) => i.key.startsWith('alice ')).length;
    expect([seenByAlice, seenByBob]).toEqual([10, 10]);
    expect(alice.view(listId)).toEqual(bob.view(listId));

    // Seen and logged: the client port a write came in at counts its refusal and logs it at warn
    // with the client's routing ID: the proxy, for the ZeroMQ device's, and for the gateway's the
    // proxy or the list's coordinator's front (the gateway is direct: once it has located the list,
    // its puts go to the front, whose lines are in its node's log). No log line anywhere holds the
    // list's ID in clear.
    const ports = new ClientPorts(tc);
    clouds.push(ports);
    const refusedAt = (await ports.stats(timeoutMs)).map((p) => p.counters['writesRefused'] ?? 0);
    expect(sum(refusedAt)).toBeGreaterThanOrEqual(4);
    // A client port's line (a coordinator logs its own refusals too, without the client).
    const warned = logs.filter(
      (l) =>
        /"level":40/.test(l.line) &&
        /write_refused/.test(l.line) &&
        /"msg":"client frame refused"/.test(l.line),
    );
    expect(warned.filter((l) => l.name === 'proxy').length).toBeGreaterThan(0);
    for (const w of warned) expect(w.line).toMatch(/"client":"[0-9a-f]+"/);
    expect(logs.filter((l) => l.line.includes(listId))).toEqual([]);
    console.log(
      `trust: a ${encodeList(crafted).length}-byte context claiming both devices' counters: ${viaProxy} through the proxy, ${viaGateway} through the gateway; ` +
        `a forged change under alice's name: ${forgedViaProxy} / ${forgedViaGateway}; writes refused at the proxy, fronts: ${refusedAt.join(', ')} ` +
        `(${warned.length} warn lines, ${warned.filter((l) => l.name !== 'proxy').length} from fronts); ` +
        `then 20 of 20 honest changes cloud-ok and 20 of 20 seen by the other device`,
    );
  });

  it('a put that would pass the item limit is refused before it is stored; the list stays readable', async () => {
    const zmq = zmqCloud();
    const ws = await wsCloud();
    const alice = await device();
    const listId = await alice.createList('Big');
    await alice.addItem(listId, 'Milk', 1);
    await syncAll(alice, zmq);

    // 10,000 items, each within the limits, under the attacker's own writer ID.
    const secret = newWriterSecret(cryptoRandom);
    const attacker = new ListReplica(writerIdOf(secret));
    const big = new ListDoc(false, attacker.state.replicas);
    for (let i = 0; i < limits.itemsPerListMax; i++) {
      const delta = attacker.addItem(`item ${i}`, 1);
      const key = [...delta.items.keys()][0] as string;
      big.items.set(key, delta.items.get(key) as NonNullable<ReturnType<typeof delta.items.get>>);
    }
    big.ctx.join(attacker.state.ctx, undefined);
    const bytes = encodeList(big).length;
    const viaProxy = await refusal(craftedPut(zmq, listId, big, secret));
    const viaGateway = await refusal(craftedPut(ws, listId, big, secret));
    expect([viaProxy, viaGateway]).toEqual(['limit_exceeded', 'limit_exceeded']);

    // Still readable by anyone, and still writable by its people.
    const bob = await device();
    await bob.joinList(listId);
    await syncAll(bob, ws);
    await bob.addItem(listId, 'Eggs', 6);
    await syncAll(bob, ws);
    await syncAll(alice, zmq);
    expect(alice.view(listId).items.map((i) => i.key)).toEqual(['eggs', 'milk']);
    console.log(
      `trust: one ${(bytes / 1000).toFixed(0)} kB put of ${limits.itemsPerListMax} items into a list holding 1: ` +
        `${viaProxy} through the proxy and through the gateway, nothing stored; the list reads and takes honest changes as before`,
    );
  });
});
