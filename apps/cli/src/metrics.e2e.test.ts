// Prometheus metrics on real processes: a local cloud (proxy, 3 storage nodes, gateway) started
// with a metrics port each, some writes and reads through the proxy and through the gateway (a
// WebSocket, as a browser), then every process's /metrics scraped over HTTP on loopback. Each
// exposition must parse (strictly: testing/scrape.ts), every Trolley metric in it must be in
// docs/METRICS.md, and the counters must have moved exactly as the work done says: puts and gets
// coordinated, forwarded by the proxy or a node's front, replica writes (N − 1 per put), the
// histograms' observations, store batches.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  ListReplica,
  decodeMessage,
  encodeList,
  encodeMessage,
  newListId,
  newReplicaId,
  opIdFrom,
  type Message,
} from '@trolley/core';
import { CloudClient, cryptoRandom } from '@trolley/node';
import { readList, requestMs, sum } from './testing/cloud-checks.ts';
import { Scrape } from './testing/scrape.ts';
import { TestCluster, disposeAll, freePortPair } from './testing/test-cluster.ts';
import { trolleyBin } from './local-cluster.ts';

const metricsDoc = readFileSync(new URL('../../../docs/METRICS.md', import.meta.url), 'utf8');

afterAll(disposeAll);

/** Puts and gets through a gateway's WebSocket, one at a time, as the web app sends them. */
async function throughGateway(url: string, lists: number): Promise<void> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}sync`);
  const replies = new Map<number, (m: Message) => void>();
  ws.on('message', (data: Buffer) => {
    const m = decodeMessage(data);
    if (m.ok) replies.get(m.value.requestId)?.(m.value);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 1;
  const request = (make: (requestId: number) => Message): Promise<Message> => {
    const requestId = nextId++;
    const reply = new Promise<Message>((resolve) => replies.set(requestId, resolve));
    ws.send(encodeMessage(make(requestId)));
    return reply;
  };
  try {
    for (let i = 0; i < lists; i++) {
      const listId = newListId(cryptoRandom);
      const author = new ListReplica(newReplicaId(cryptoRandom));
      const put = await request((requestId) => ({
        type: 'put',
        requestId,
        listId,
        opId: opIdFrom(cryptoRandom.fill(new Uint8Array(16))),
        deadlineMs: Date.now() + requestMs,
        delta: encodeList(author.addItem(`bread ${i}`, 1)),
      }));
      expect(put).toMatchObject({ type: 'put-reply', outcome: 'ok' });
      const get = await request((requestId) => ({
        type: 'get',
        requestId,
        listId,
        deadlineMs: Date.now() + requestMs,
        context: new Uint8Array(0),
      }));
      expect(get.type).toBe('get-reply');
    }
  } finally {
    ws.terminate();
  }
}

describe('metrics', () => {
  it('every process serves metrics that parse, are documented, and count the work done', async () => {
    const tc = await TestCluster.start({ nodes: 3, metrics: true, gateway: true });
    const endpoints = tc.cluster.metricsEndpoints;
    expect(endpoints.map((e) => e.name)).toEqual(['proxy', 'n1', 'n2', 'n3', 'gateway']);
    const gatewayUrl = tc.cluster.gatewayUrl as string;
    const url = (name: string): string => endpoints.find((e) => e.name === name)?.url as string;
    const nodeUrls = endpoints.filter((e) => e.role === 'node').map((e) => e.url);
    const scrapeNodes = (): Promise<Scrape[]> => Promise.all(nodeUrls.map((u) => Scrape.of(u)));
    const put = { kind: 'put', outcome: 'ok' };
    const get = { kind: 'get', outcome: 'ok' };

    const nodesBefore = await scrapeNodes();
    const proxyBefore = await Scrape.of(url('proxy'));
    const at = (scrapes: readonly Scrape[], name: string, labels?: Record<string, string>): number =>
      sum(scrapes.map((s) => s.value(name, labels)));

    // The work: through the proxy, 12 lists written once and read once; through the gateway, 3.
    const viaProxy = 12;
    const viaGateway = 3;
    const client = new CloudClient(tc.cluster.clientEndpoints);
    try {
      for (let i = 0; i < viaProxy; i++) {
        const listId = newListId(cryptoRandom);
        const author = new ListReplica(newReplicaId(cryptoRandom));
        const r = await client.put(listId, encodeList(author.addItem(`milk ${i}`, 2)), {
          timeoutMs: requestMs,
        });
        expect(r.outcome).toBe('ok');
        expect((await readList(client, listId)).view.items).toHaveLength(1);
      }
    } finally {
      client.close();
    }
    await throughGateway(gatewayUrl, viaGateway);
    const puts = viaProxy + viaGateway;

    // Every put reached all N = 3 replicas: the coordinator's own, and N − 1 replica writes (the
    // last may land after the put was answered: wait for it, as a scraper would see it).
    await expect
      .poll(async () =>
        at(await scrapeNodes(), 'trolley_node_requests_total', { kind: 'replica_write', outcome: 'ok' }),
      )
      .toBe(
        at(nodesBefore, 'trolley_node_requests_total', { kind: 'replica_write', outcome: 'ok' }) + 2 * puts,
      );
    const nodes = await scrapeNodes();
    const proxy = await Scrape.of(url('proxy'));
    const gateway = await Scrape.of(url('gateway'));
    const moved = (name: string, labels?: Record<string, string>): number =>
      at(nodes, name, labels) - at(nodesBefore, name, labels);

    // Storage nodes: each put and get coordinated once, ok; their latency observed as often.
    expect(moved('trolley_node_requests_total', put)).toBe(puts);
    expect(moved('trolley_node_request_duration_seconds', put)).toBe(puts);
    expect(moved('trolley_node_puts_ok_total')).toBe(puts);
    expect(moved('trolley_node_requests_total', get)).toBe(puts);
    expect(moved('trolley_node_request_duration_seconds', get)).toBe(puts);
    expect(moved('trolley_node_request_duration_seconds', { kind: 'replica_write' })).toBe(2 * puts);
    expect(moved('trolley_node_requests_total', { outcome: 'refused' })).toBe(0);
    // Every copy committed through the store's group commit: at least one batch per node that
    // holds lists, every write of them durable, and a commit time observed per batch.
    expect(at(nodes, 'trolley_node_lists')).toBe(3 * puts);
    for (const s of nodes) {
      expect(s.value('trolley_node_store_batch_writes')).toBeGreaterThan(0);
      expect(s.value('trolley_node_store_commit_duration_seconds')).toBe(
        s.value('trolley_node_store_batch_writes'),
      );
      expect(s.value('trolley_node_store_writes_total')).toBeGreaterThanOrEqual(
        s.value('trolley_node_lists'),
      );
      expect(s.value('trolley_node_ring_version')).toBe(1);
      expect(s.value('trolley_node_members', { liveness: 'alive' })).toBe(2);
      expect(s.value('trolley_node_hints_waiting')).toBe(0);
      expect(s.type('trolley_node_request_duration_seconds')).toBe('histogram');
      expect(s.type('trolley_node_requests_total')).toBe('counter');
      expect(s.type('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
      // Each node's front (the local cluster gives every node one) counts as a proxy does.
      expect(s.type('trolley_node_front_forwarded_total')).toBe('counter');
      expect(s.value('trolley_node_front_watch_clients')).toBe(0);
    }
    expect(at(nodes, 'trolley_node_partitions_owned')).toBe(tc.cluster.layout.partitions);

    // The proxy and the fronts: every put and get forwarded once, and at the proxy answered ok,
    // timed from forward to answer. The gateway is direct: a list's first request (here its put)
    // goes through the proxy, which locates the list beside it; its get goes to the coordinator's
    // front once the list is located, else through the proxy. The ZeroMQ client is not direct.
    const proxyMoved = (name: string, labels?: Record<string, string>): number =>
      proxy.value(name, labels) - proxyBefore.value(name, labels);
    const atFronts = moved('trolley_node_front_forwarded_total');
    const proxyGets = proxyMoved('trolley_proxy_requests_total', get);
    expect(proxyMoved('trolley_proxy_requests_total', put)).toBe(puts);
    expect(proxyMoved('trolley_proxy_request_duration_seconds', put)).toBe(puts);
    expect(proxyGets).toBeGreaterThanOrEqual(viaProxy);
    expect(proxyGets + atFronts).toBe(puts);
    expect(proxyMoved('trolley_proxy_request_duration_seconds', get)).toBe(proxyGets);
    expect(proxyMoved('trolley_proxy_forwarded_total') + atFronts).toBe(2 * puts);
    expect(proxy.value('trolley_proxy_nodes', { state: 'live' })).toBe(3);
    expect(proxy.value('trolley_proxy_ring_version')).toBe(1);

    // The gateway: the browser's puts and gets, and the connection it opened.
    expect(gateway.value('trolley_gateway_requests_total', put)).toBe(viaGateway);
    expect(gateway.value('trolley_gateway_request_duration_seconds', put)).toBe(viaGateway);
    expect(gateway.value('trolley_gateway_requests_total', get)).toBe(viaGateway);
    expect(gateway.value('trolley_gateway_puts_total')).toBe(viaGateway);
    expect(gateway.value('trolley_gateway_accepted_total')).toBe(1);

    // Every Trolley metric a process serves is in the one table of docs/METRICS.md.
    for (const s of [...nodes, proxy, gateway])
      for (const name of s.families.keys())
        if (name.startsWith('trolley_'))
          expect(metricsDoc, `${name} in docs/METRICS.md`).toContain(`\`${name}\``);
    const shown =
      /^trolley_node_(requests_total\{kind="(put|get|replica_write)"|request_duration_seconds_count|store_batch_writes_count|store_commit_duration_seconds_count|lists|ring_version|partitions_owned|hints_waiting)/;
    const sample = (nodes[0]?.text ?? '').split('\n').filter((l) => shown.test(l));
    process.stdout.write(
      `metrics: ${puts} puts and ${puts} gets (${atFronts} gets at the fronts); a node's scrape (n1):\n${sample.join('\n')}\n`,
    );
  });

  it('trolley cluster --metrics-port gives each process the next port and lists them in its --json ready line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trolley-metrics-'));
    const first = await freePortPair();
    const child = spawn(
      process.execPath,
      [
        trolleyBin,
        'cluster',
        '--nodes',
        '1',
        '--n',
        '1',
        '--r',
        '1',
        '--w',
        '1',
        '--data',
        join(dir, 'data'),
      ].concat(['--proxy-port', `${await freePortPair()}`, '--metrics-port', `${first}`, '--json']),
      { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, TROLLEY_HOME: join(dir, 'home') } },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) =>
          reject(new Error(`trolley cluster exited (${code}) before its ready line`)),
        );
      });
      const ready = JSON.parse(line) as {
        ready: boolean;
        metrics: { name: string; role: string; url: string }[];
      };
      expect(ready.ready).toBe(true);
      expect(ready.metrics).toEqual([
        { name: 'proxy', role: 'proxy', url: `http://127.0.0.1:${first}/metrics` },
        { name: 'n1', role: 'node', url: `http://127.0.0.1:${first + 1}/metrics` },
      ]);
      expect(
        (await Scrape.of(ready.metrics[0]?.url ?? '')).value('trolley_proxy_info', { proxy: 'proxy' }),
      ).toBe(1);
      expect((await Scrape.of(ready.metrics[1]?.url ?? '')).value('trolley_node_info', { node: 'n1' })).toBe(
        1,
      );
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
