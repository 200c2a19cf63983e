// Concurrent ring changes on real processes (ARCHITECTURE.md, "adding and removing nodes"): a proxy
// and 3 storage nodes started by LocalCluster on 127.0.0.1, 40 lists written, then two more node
// processes put into the ring at the same time through two different nodes. Before the confirmed
// ring change, both nodes answered "version 2" with different rings and gossip silently dropped
// one. Now each add-node waits for the one ring the cluster agrees on and issues its change again
// if a concurrent one won. To make the race likely, both changes are lined up behind a barrier
// and the two nodes they go to are paused (SIGSTOP) until both changes have been sent, then resumed
// together. When they raced (both answered v2) the loser must have been re-issued; either way: both nodes in the one ring
// all 5 nodes hold, and every list written before still reads back whole. The cluster is stopped
// and its folder removed, pass or fail.

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ListReplica, encodeList, newListId, newReplicaId, type ListId } from '@trolley/core';
import { CloudClient, cryptoRandom, nodeStats, splitAddress } from '@trolley/node';
import { TestCluster, disposeAll } from './testing/test-cluster.ts';
import { hangMs, pool, putAcked, readList, replyMs, sleep } from './testing/cloud-checks.ts';
import { logErrorsOnly } from './testing/log-lines.ts';

logErrorsOnly();

const clients: CloudClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await disposeAll();
});

const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/**
 * This process's established TCP connections on IPv4, as "far end's port/inode" (from
 * /proc/net/tcp, keeping the sockets whose inode is one of this process's descriptors). The admin
 * client sends each request to a node on a socket of its own: it asks ZeroMQ to connect and queues
 * the request in one synchronous step, and the kernel completes the connection even to a paused
 * node. So a new connection to a node's port, seen from this thread, says that a request to that
 * node is on its way.
 */
function connections(): Set<string> {
  const mine = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m?.[1] !== undefined) mine.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const out = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const [remote, state, inode] = [f[2], f[3], f[9]];
    if (remote === undefined || inode === undefined || state !== '01' || !mine.has(inode)) continue;
    out.add(`${parseInt(remote.split(':')[1] ?? '', 16)}/${inode}`);
  }
  return out;
}

/** The port of a tcp://host:port endpoint (its key after #, if any, left out). */
const portOf = (address: string): number => {
  const { endpoint } = splitAddress(address);
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
};

describe('ring changes on real processes', () => {
  it('two nodes added at once through two nodes: both in the one ring every node holds, no list lost', async () => {
    const started = performance.now();
    const tc = await TestCluster.start({ nodes: 3, partitions: 16 });
    const client = new CloudClient([tc.cluster.clientEndpoint]);
    clients.push(client);

    // 40 lists, each with two items, all cloud-ok.
    const lists: { listId: ListId; expected: string }[] = [];
    for (let i = 0; i < 40; i++) lists.push({ listId: newListId(cryptoRandom), expected: '' });
    await pool(lists, 8, async (l, i) => {
      const r = new ListReplica(newReplicaId(cryptoRandom));
      for (const delta of [
        r.rename(`List ${i}`),
        r.addItem('Milk', 1 + (i % 3)),
        r.addItem(`Bread ${i}`, 2),
      ]) {
        // Cloud-ok, if need be after retries under the same opId (an 'unknown' on a loaded machine).
        const put = await putAcked(client, l.listId, encodeList(delta));
        expect(put.outcome).toBe('ok');
      }
      l.expected = JSON.stringify(r.view());
    });

    // Both new processes start; once both are ready, n1 and n2 are paused, both changes sent
    // (n4 through n1, n5 through n2), and the two nodes resumed together as soon as both changes
    // are on their way to them: however long the sending takes, neither node can apply its change
    // (and gossip it) before the other has its own in hand.
    const targets = [0, 1].map((i) => portOf(tc.cluster.nodeEndpoint(i)));
    let ready = 0;
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let pausedMs = 0;
    let resumed: Promise<void> = Promise.resolve();
    const lineUp = async (): Promise<void> => {
      if (++ready === 2) {
        tc.cluster.signalNode(0, 'SIGSTOP');
        tc.cluster.signalNode(1, 'SIGSTOP');
        const pausedAt = performance.now();
        const before = connections();
        release();
        resumed = (async () => {
          try {
            // Polled often: a node's admin client gives up on a silent node after 5 s and moves on.
            for (;;) {
              const fresh = [...connections()]
                .filter((c) => !before.has(c))
                .map((c) => Number(c.split('/')[0]));
              if (targets.every((port) => fresh.includes(port))) return;
              if (performance.now() - pausedAt > hangMs)
                throw new Error(`the ring changes to n1 and n2 were not both sent in ${hangMs} ms`);
              await sleep(5);
            }
          } finally {
            tc.cluster.signalNode(0, 'SIGCONT');
            tc.cluster.signalNode(1, 'SIGCONT');
            pausedMs = performance.now() - pausedAt;
          }
        })();
        resumed.catch(() => undefined); // awaited below, after the ring changes
      }
      await gate;
    };
    // Bounds on confirming a ring change that guard against a hang only: on a loaded machine a
    // node may take seconds to answer the polls of its stats.
    const confirm = { timeoutMs: hangMs, silentMs: 60_000 };
    const changeStarted = performance.now();
    const [a, b] = await Promise.all([
      tc.cluster.addNode(1, { via: 0, beforeRingChange: lineUp, confirm }),
      tc.cluster.addNode(1, { via: 1, beforeRingChange: lineUp, confirm }),
    ]);
    await resumed;
    const changeMs = performance.now() - changeStarted;
    const lines = tc.events.filter((e) => e.startsWith('ring change:'));
    const appliedVersions = lines.flatMap((l) => /ring v(\d+) applied by/.exec(l)?.[1] ?? []);
    const reissued = lines.filter((l) => /concurrent ring change won/.test(l)).length;
    const raced = appliedVersions.slice(0, 2).every((v) => v === '2');

    // Every node, the two new ones included, holds one ring with both.
    const endpoints = [0, 1, 2, a, b].map((i) => tc.cluster.nodeEndpoint(i));
    const stats = await Promise.all(endpoints.map((e) => nodeStats(tc.cluster.operator, e, replyMs)));
    const hashes = new Set(stats.map((s) => s['ringHash']));
    const versions = new Set(stats.map((s) => s['ringVersion']));
    expect(hashes.size).toBe(1);
    expect(versions.size).toBe(1);
    for (const s of stats)
      expect([...(s['ringNodes'] as string[])].sort()).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(tc.exits()).toEqual([]);
    // The pause makes the race (both answering v2) likely, not certain: once resumed, a node may
    // still take in the other's ring, pushed at once, before its own queued change (the order of
    // two sockets is the scheduler's). When they raced, the loser must have been re-issued; when
    // not, both changes are in the one ring all the same (checked above). The re-issue itself is
    // covered deterministically in packages/cloud/src/ring-change.test.ts.
    if (raced) expect(reissued).toBeGreaterThanOrEqual(1);

    // Every list written before reads back whole through the proxy (R=2 of its new owners).
    const readStarted = performance.now();
    const wrong: string[] = [];
    await pool(lists, 8, async (l) => {
      const got = await readList(client, l.listId);
      if (JSON.stringify(got.view) !== l.expected) wrong.push(l.listId);
    });
    expect(wrong).toEqual([]);
    const partitionsOfNew = await Promise.all(
      [a, b].map(
        async (i) =>
          (await nodeStats(tc.cluster.operator, tc.cluster.nodeEndpoint(i), replyMs))['partitionsOwned'],
      ),
    );

    console.log(
      `concurrent add-node through n1 and n2: ${raced ? 'raced (both answered v2)' : 'did not race this time'}; ` +
        `versions answered ${appliedVersions.join(', ')}, re-issued ${reissued}; all 5 nodes agree on ` +
        `v${[...versions].join('')} with n4 and n5 (own ${partitionsOfNew.join(' and ')} of 16 partitions), ` +
        `confirmed in ${(changeMs / 1000).toFixed(1)} s (n1 and n2 paused ${pausedMs.toFixed(0)} ms, ` +
        'until both changes were sent); ' +
        `${lists.length - wrong.length}/${lists.length} lists written before read back whole in ${seconds(readStarted)}; ` +
        `total ${seconds(started)}`,
    );
    if (process.env['TROLLEY_LOG'] !== 'error') for (const l of lines) console.log(`  ${l}`);
  });
});
