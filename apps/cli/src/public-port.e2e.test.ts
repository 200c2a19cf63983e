// A fair share of the proxy's public port, on real processes (a proxy and 3 storage nodes started by
// LocalCluster on 127.0.0.1, their logs captured). Measured before this: 110 `watch` frames of 1,000
// random list IDs to the proxy evicted honest watchers (0 of 5 live updates), `stats` gave anyone
// every node's address, and none of it left a log line. Here:
// - the watch attack, from one socket and then from 111: an honest watcher (watching before) and a
//   newcomer (watching once the table is full) each get 5 of 5 live updates;
// - a flood of gets from one socket past its quota of requests in flight is answered `overloaded`,
//   while an honest client's writes are served;
// - the proxy's `stats` carry no node address, and the operator commands still find the nodes (by
//   asking a node), `add-node` even through the new node alone;
// - every refusal is logged at warn level (the default), rate limited, naming the connection's
//   routing ID, and no list ID appears in clear in any process's log.
// Tests wait for the events they mean; timeouts are only guards against a hang.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ListReplica,
  encodeContext,
  encodeList,
  encodeMessage,
  limits,
  newListId,
  newReplicaId,
  ListDoc,
  type ListId,
} from '@trolley/core';
import { CloudClient, cryptoRandom, nodeStats, splitAddress, writeMemberKey } from '@trolley/node';
import { freePort, trolleyBin } from './local-cluster.ts';
import { LogLines } from './testing/log-lines.ts';
import { RawDealer } from './testing/raw-dealer.ts';
import { TestCluster, disposeAll } from './testing/test-cluster.ts';
import { hangMs, putAcked, replyMs, requestMs, sleep } from './testing/cloud-checks.ts';

const clients: CloudClient[] = [];
const raws: RawDealer[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(raws.splice(0).map((r) => r.close()));
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await disposeAll();
});

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/**
 * A watch has no reply; but the proxy handles one connection's frames in order, so a `stats` asked
 * on the same connection after it is answered once the watch has been handled — and says how the
 * table stands then.
 */
async function statsAfter(raw: RawDealer): Promise<Record<string, unknown>> {
  const r = await raw.request({ type: 'stats', requestId: 1 });
  if (r.type !== 'stats-reply') throw new Error(`got ${r.type}`);
  return JSON.parse(r.json) as Record<string, unknown>;
}

const watchesOf = (s: Record<string, unknown>): { clients: number; entries: number } =>
  s['watches'] as { clients: number; entries: number };

/** A client watching `lists` that records every `changed` it is pushed. */
function watcher(
  endpoint: string,
  lists: readonly ListId[],
): { client: CloudClient; seen: Map<ListId, number> } {
  const client = new CloudClient([endpoint]);
  clients.push(client);
  const seen = new Map<ListId, number>();
  client.watch(lists, (id) => seen.set(id, (seen.get(id) ?? 0) + 1));
  return { client, seen };
}

/** Resolves once every list in `lists` has been pushed at least `times` times (checked every 10 ms). */
async function pushedAll(
  what: string,
  seen: Map<ListId, number>,
  lists: readonly ListId[],
  times: number,
): Promise<void> {
  const giveUp = performance.now() + hangMs;
  while (!lists.every((id) => (seen.get(id) ?? 0) >= times)) {
    if (performance.now() > giveUp) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Runs the trolley command; its exit code and output. */
function trolley(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [trolleyBin, ...args], {
      env: { ...process.env, TROLLEY_LOG: 'error', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a fair share of the proxy', () => {
  it('the watch attack (110 frames of 1,000 IDs, from one socket and from 111): honest watchers get 5 of 5', async () => {
    const logs = new LogLines();
    const tc = await TestCluster.start({ nodes: 3, stderr: logs.sink });
    const endpoint = tc.cluster.clientEndpoint;
    const observer = new CloudClient([endpoint]);
    const writer = new CloudClient([endpoint]);
    clients.push(observer, writer);

    // An honest client watches 5 lists, and the proxy has its watch.
    const honestLists = Array.from({ length: 5 }, () => newListId(cryptoRandom));
    const honest = watcher(endpoint, honestLists);
    // (the CloudClient asks for stats on the connection it watched through)
    expect(watchesOf(await honest.client.proxyStats(replyMs)).entries).toBe(5);

    // One socket sends 110 watch frames of 1,000 random lists: each replaces the last.
    const attackIds: ListId[] = [];
    const frameOf = (): Uint8Array => {
      const ids = Array.from({ length: limits.watchedListsMax }, () => newListId(cryptoRandom));
      attackIds.push(...ids.slice(0, 3));
      return encodeMessage({ type: 'watch', requestId: 0, listIds: ids });
    };
    const one = new RawDealer(endpoint);
    raws.push(one);
    const started = performance.now();
    for (let i = 0; i < 110; i++) await one.sendFrames([frameOf()]);
    const afterOne = await statsAfter(one);
    expect(watchesOf(afterOne)).toEqual({ clients: 2, lists: 1_005, entries: 1_005 });
    // Then 110 more sockets, 1,000 lists each: 111,005 asked for, 100,000 in the table.
    const many = Array.from({ length: 110 }, () => new RawDealer(endpoint));
    raws.push(...many);
    const manyFrames = many.map(() => frameOf());
    /** Every attacking socket sends its watch (again: an attacker renews, and takes back what it can). */
    const attack = async (): Promise<void> => {
      await Promise.all(many.map((r, i) => r.sendFrames([manyFrames[i] as Uint8Array])));
      await Promise.all(many.map((r) => statsAfter(r)));
    };
    await attack();
    const full = await observer.proxyStats(replyMs);
    expect(watchesOf(full)).toMatchObject({ clients: 112, entries: limits.watchesPerProxyMax });
    const attackMs = performance.now() - started;
    // The honest client's lease is renewed (as it is every 15 s) into the full table: it keeps its 5.
    honest.client.watch([], () => undefined); // sends its watched set again
    expect(watchesOf(await honest.client.proxyStats(replyMs)).entries).toBe(limits.watchesPerProxyMax);

    // The attack again (so the table is full whatever time has passed), then a newcomer arrives.
    await attack();
    const newcomerLists = Array.from({ length: 5 }, () => newListId(cryptoRandom));
    const newcomer = watcher(endpoint, newcomerLists);
    expect(watchesOf(await newcomer.client.proxyStats(replyMs))).toMatchObject({
      clients: 113,
      entries: limits.watchesPerProxyMax,
    });

    // One write to each of the 10 lists, cloud-ok; every one is pushed to its watcher.
    for (const listId of [...honestLists, ...newcomerLists]) {
      const r = new ListReplica(newReplicaId(cryptoRandom));
      expect((await putAcked(writer, listId, encodeList(r.addItem('Milk', 1)))).outcome).toBe('ok');
    }
    await pushedAll('the honest watcher to be pushed its 5 lists', honest.seen, honestLists, 1);
    await pushedAll('the newcomer to be pushed its 5 lists', newcomer.seen, newcomerLists, 1);
    const end = await observer.proxyStats(replyMs);
    const counters = end['counters'] as Record<string, number>;
    expect(counters['watchesCut']).toBeGreaterThan(0);

    // Seen and logged: the cut watches at warn level, rate limited, with the socket's routing ID.
    await logs.until(
      'a warning about a refused watch',
      () => logs.warnings('proxy', 'client frame refused', { reason: 'watch_refused' }).length > 0,
    );
    const warned = logs.warnings('proxy', 'client frame refused', { reason: 'watch_refused' });
    expect(warned.every((w) => typeof w['client'] === 'string' && /^[0-9a-f]+$/.test(w['client']))).toBe(
      true,
    );
    expect(warned.length).toBeLessThanOrEqual(3 * Math.ceil(attackMs / 1_000 + 2));
    // No list ID in clear in any process's log.
    const clear = logs.lines.filter((l) => uuid.test(l.line));
    expect(clear.map((l) => l.line)).toEqual([]);
    for (const id of [...honestLists, ...attackIds])
      expect(logs.lines.some((l) => l.line.includes(id))).toBe(false);
    console.log(
      `proxy watch attack: 110 frames × ${limits.watchedListsMax} IDs from one socket → it holds ` +
        `${watchesOf(afterOne).entries - 5}; then 110 sockets × ${limits.watchedListsMax} → table ` +
        `${watchesOf(full).entries} of ${limits.watchesPerProxyMax} among ${watchesOf(full).clients} clients ` +
        `(${counters['watchesCut']} watches cut, ${counters['watchListsRefused']} lists refused, ` +
        `${counters['watchListsTaken']} taken from the largest); honest watcher ` +
        `${honestLists.filter((id) => honest.seen.has(id)).length} of 5 live updates, newcomer ` +
        `${newcomerLists.filter((id) => newcomer.seen.has(id)).length} of 5; ${warned.length} warn lines ` +
        `in ${(attackMs / 1000).toFixed(1)} s, 0 list IDs in clear in ${logs.lines.length} log lines`,
    );
  });

  it('a flood of gets past the quota in flight is answered overloaded; an honest client is served', async () => {
    const logs = new LogLines();
    const tc = await TestCluster.start({ nodes: 3, stderr: logs.sink });
    const endpoint = tc.cluster.clientEndpoint;
    const honest = new CloudClient([endpoint]);
    clients.push(honest);
    const flooder = new RawDealer(endpoint);
    raws.push(flooder);
    const quota = limits.clientRequestsInFlightMax;
    const flood = 5 * quota;
    const empty = ListDoc.empty();
    const context = encodeContext(empty.ctx, empty.replicas);
    const replies = flooder.replies;
    const frames = Array.from({ length: flood }, (_, i) =>
      encodeMessage({
        type: 'get',
        requestId: i + 1,
        listId: newListId(cryptoRandom),
        deadlineMs: Date.now() + requestMs,
        context,
      }),
    );
    const sent = Promise.all(frames.map((f) => flooder.sendFrames([f])));
    // While the flood is on its way: 10 writes of an honest client, each cloud-ok.
    const honestResults = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const r = new ListReplica(newReplicaId(cryptoRandom));
        return (await putAcked(honest, newListId(cryptoRandom), encodeList(r.addItem('Eggs', 6)))).outcome;
      }),
    );
    await sent;
    const giveUp = performance.now() + hangMs;
    while (replies.length < flood) {
      if (performance.now() > giveUp) throw new Error(`${replies.length} of ${flood} replies`);
      await sleep(20); // a poll of what has arrived: every request is answered by its deadline
    }
    const overloaded = replies.filter((m) => m.type === 'error' && m.code === 'overloaded').length;
    const answered = replies.filter((m) => m.type === 'get-reply').length;
    expect(honestResults.filter((o) => o === 'ok')).toHaveLength(10);
    expect(overloaded).toBeGreaterThan(0);
    expect(answered + overloaded).toBe(flood);
    const counters = (await honest.proxyStats(replyMs))['counters'] as Record<string, number>;
    expect(counters['overloaded']).toBe(overloaded);
    // Logged at warn level, a few lines a second; the lines (and the summaries the proxy writes
    // once a second) say how many were not logged one by one: together, every refusal.
    const overloadLines = (): Record<string, unknown>[] =>
      logs.lines.flatMap((l) => (l.name === 'proxy' && l.json?.['reason'] === 'overloaded' ? [l.json] : []));
    const suppressedSum = (): number =>
      overloadLines().reduce((n, j) => n + (typeof j['suppressed'] === 'number' ? j['suppressed'] : 0), 0);
    const warned = (): Record<string, unknown>[] =>
      logs.warnings('proxy', 'client frame refused', { reason: 'overloaded' });
    await logs.until(
      'every overload logged or counted as suppressed',
      () => warned().length + suppressedSum() === overloaded,
    );
    const suppressed = suppressedSum();
    const times = warned().map((w) => w['time'] as number);
    const spanS = (Math.max(...times) - Math.min(...times)) / 1_000;
    expect(warned().length).toBeLessThanOrEqual(3 * (Math.floor(spanS) + 1));
    expect(new Set(warned().map((w) => w['client'])).size).toBe(1);
    console.log(
      `proxy in-flight quota ${quota}: a burst of ${flood} gets from one socket → ${answered} answered, ` +
        `${overloaded} overloaded; an honest client's 10 writes: 10 cloud-ok; ${warned().length} warn lines ` +
        `naming the socket, ${suppressed} suppressed and counted`,
    );
  });

  it('client stats carry no node address; cluster status and add-node/remove-node find the nodes through a node', async () => {
    const tc = await TestCluster.start({ nodes: 3, partitions: 16 });
    const client = new CloudClient([tc.cluster.clientEndpoint]);
    clients.push(client);
    const raw = new RawDealer(tc.cluster.clientEndpoint);
    raws.push(raw);
    const reply = await raw.request({ type: 'stats', requestId: 1 });
    if (reply.type !== 'stats-reply') throw new Error(`got ${reply.type}`);
    const ports = tc.nodeEndpoints.map((e) => {
      const { endpoint } = splitAddress(e);
      return endpoint.slice(endpoint.lastIndexOf(':') + 1);
    });
    expect(reply.json).not.toMatch(/tcp:\/\//);
    for (const p of ports) expect(reply.json).not.toContain(p);
    const nodes = (JSON.parse(reply.json) as { nodes: { id: string; live: boolean }[] }).nodes;
    expect(nodes.map((n) => n.id).sort()).toEqual(tc.nodeIds);

    // The operator's view: through the local cloud's folder (its nodes and its keys), through
    // --node, through $TROLLEY_NODE; away from the local cloud's folder, the operator's keys come
    // from --keys or $TROLLEY_KEYS.
    const cloud = ['--cloud', tc.cluster.clientEndpoint];
    const keysDir = join(tc.dir, 'keys');
    type Row = { id: string; address: string; keys: number | null; live: boolean };
    const rowsOf = (stdout: string): Row[] => (JSON.parse(stdout) as { nodes: Row[] }).nodes;
    const byData = await trolley(['cluster', 'status', ...cloud, '--data', tc.dir, '--json']);
    expect(byData.code, byData.stderr).toBe(0);
    const expected = tc.nodeIds.map((id, i) => [id, tc.nodeEndpoints[i]]);
    const pairs = (rows: Row[]): (string | undefined)[][] =>
      rows.map((r) => [r.id, r.address]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(pairs(rowsOf(byData.stdout))).toEqual(expected);
    expect(rowsOf(byData.stdout).every((r) => typeof r.keys === 'number')).toBe(true);
    // Each node's front (the local cloud's nodes have one), in JSON and as people read it.
    type Front = { address: string | null; watchClients: number | null; forwarded: number | null };
    const fronts = (JSON.parse(byData.stdout) as { nodes: { front: Front | null }[] }).nodes.map(
      (r) => r.front,
    );
    expect(fronts).toHaveLength(tc.nodeIds.length);
    for (const f of fronts) {
      expect(f?.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+#/);
      expect(typeof f?.watchClients).toBe('number');
      expect(typeof f?.forwarded).toBe('number');
    }
    const table = await trolley(['cluster', 'status', ...cloud, '--data', tc.dir]);
    expect(table.code, table.stderr).toBe(0);
    for (const id of tc.nodeIds)
      expect(table.stdout).toMatch(
        new RegExp(
          `^  ${id}: tcp://\\S+  \\d+ clients watching \\d+ lists \\(\\d+ watches\\); ` +
            '\\d+ forwarded, \\d+ notices, \\d+ refused$',
          'm',
        ),
      );
    const byNodes = await trolley([
      'cluster',
      'status',
      ...cloud,
      '--node',
      tc.nodeEndpoints[2] ?? '',
      '--keys',
      keysDir,
      '--json',
    ]);
    expect(pairs(rowsOf(byNodes.stdout))).toEqual(expected);
    const byEnv = await trolley(['cluster', 'status', ...cloud, '--data', join(tc.dir, 'none'), '--json'], {
      TROLLEY_NODE: tc.nodeEndpoints[1] ?? '',
      TROLLEY_KEYS: keysDir,
    });
    expect(pairs(rowsOf(byEnv.stdout))).toEqual(expected);
    const none = await trolley(['cluster', 'status', ...cloud, '--data', join(tc.dir, 'none')]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('--node');

    // add-node as the README has it on several machines: a key for the new node in the shared keys
    // folder, the node started with --seeds, then add-node with its ID and endpoint alone (no
    // --node, no local cloud): the new node knows its peers.
    const port = await freePort();
    const n4 = `tcp://127.0.0.1:${port}`;
    writeMemberKey(keysDir, 'n4', 'node');
    const proxyKey = splitAddress(tc.cluster.clientEndpoint).serverKey ?? '';
    const child = spawn(
      process.execPath,
      [
        trolleyBin,
        'node',
        '--id',
        'n4',
        '--listen',
        n4,
        '--data',
        join(tc.dir, 'n4'),
        '--proxy',
        `tcp://127.0.0.1:${tc.cluster.layout.nodePort}#${proxyKey}`,
        '--keys',
        keysDir,
        '--seeds',
        `n1=${tc.nodeEndpoints[0] ?? ''}`,
        '--partitions',
        '16',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TROLLEY_LOG: 'error' } },
    );
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (l) => {
        if (l.startsWith('ready')) resolve();
      });
      child.once('exit', () => reject(new Error('n4 exited before it was ready')));
    });
    // add-node asks n4 for its peers: wait until it has heard of them all by gossip.
    const giveUp = performance.now() + hangMs;
    for (;;) {
      const members = (await nodeStats(tc.cluster.operator, n4, replyMs, 'n4'))['members'] as {
        id: string;
        liveness: string;
      }[];
      if (tc.nodeIds.every((id) => members.some((m) => m.id === id && m.liveness === 'alive'))) break;
      if (performance.now() > giveUp) throw new Error(`n4 knows only ${JSON.stringify(members)}`);
      await sleep(100);
    }
    const added = await trolley([
      'cluster',
      'add-node',
      '--id',
      'n4',
      '--endpoint',
      n4,
      '--data',
      join(tc.dir, 'none'),
      '--keys',
      keysDir,
    ]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('n4 added');
    const removed = await trolley([
      'cluster',
      'remove-node',
      '--id',
      'n4',
      '--node',
      tc.nodeEndpoints[0] ?? '',
      '--keys',
      keysDir,
    ]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('n4 removed');
    console.log(
      `client stats: ${nodes.length} nodes by ID, 0 addresses (${reply.json.length} bytes); cluster status found ` +
        `all ${expected.length} addresses through --data, --node and $TROLLEY_NODE; add-node through the new node ` +
        `alone, remove-node through --node: both agreed`,
    );
  });
});
