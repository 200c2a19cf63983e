// Live updates through the real cloud: a client that watches a list is told of another client's
// write to it as soon as the coordinator has accepted it (live before durable; see
// live-before-durable.e2e.test.ts) — pushed by the coordinator through every proxy, not polled —
// and a get then brings the change.

import { afterEach, describe, expect, it } from 'vitest';
import {
  ListReplica,
  decodeList,
  encodeContext,
  encodeList,
  newListId,
  type ListId,
  type ReplicaId,
} from '@trolley/core';
import { CloudClient, cryptoRandom } from '@trolley/node';
import { TestCluster, disposeAll } from './testing/test-cluster.ts';
import { itemNames, requestMs, sleep } from './testing/cloud-checks.ts';

afterEach(async () => {
  await disposeAll();
});

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

describe('live updates', () => {
  it("a watching client learns of another client's write within milliseconds", async () => {
    const tc = await TestCluster.start({ nodes: 3 });
    const watcher = new CloudClient([tc.cluster.clientEndpoint]);
    const writer = new CloudClient([tc.cluster.clientEndpoint]);
    try {
      const listId: ListId = newListId(cryptoRandom);
      const author = new ListReplica('writer' as ReplicaId);
      const put = async (delta: Uint8Array): Promise<void> => {
        expect((await writer.put(listId, delta, { timeoutMs: requestMs })).outcome).toBe('ok');
      };
      await put(encodeList(author.rename('Live')));

      // Every push is recorded by the items it carries, so that a late push (of a write made while
      // the watch was still on its way) is never taken for the notice of a later write.
      let pushes = 0;
      const seenAt = new Map<string, number>();
      let onPush = (): void => undefined;
      const stop = watcher.watch([listId], (id, delta) => {
        if (id !== listId) return;
        pushes++;
        for (const name of itemNames(delta)) if (!seenAt.has(name)) seenAt.set(name, performance.now());
        onPush();
      });
      const pushed = (until: () => boolean): Promise<void> =>
        new Promise((resolve) => {
          onPush = () => {
            if (until()) resolve();
          };
          onPush();
        });

      // A watch has no reply: the first push is the only proof that it has reached the proxy. Write
      // (a rename, which adds no item) until one arrives, again after a second without one.
      let warmUps = 0;
      const watching = performance.now();
      while (pushes === 0) {
        warmUps++;
        await put(encodeList(author.rename('Live')));
        await Promise.race([pushed(() => pushes > 0), sleep(1_000)]);
      }
      const watchMs = performance.now() - watching;

      // Then 20 writes, each timed from its put to the push that carries it. No timer races the
      // notice: a push that never comes is a hang, which the test's timeout reports.
      const latencies: number[] = [];
      for (let i = 0; i < 20; i++) {
        const name = `item ${i}`;
        const sent = performance.now();
        await put(encodeList(author.addItem(name, 1)));
        await pushed(() => seenAt.has(name));
        latencies.push((seenAt.get(name) ?? Infinity) - sent);
      }
      stop();
      const reader = new ListReplica('reader' as ReplicaId);
      const reply = await watcher.get(listId, encodeContext(reader.state.ctx, reader.state.replicas), {
        timeoutMs: requestMs,
      });
      const doc = decodeList(reply.delta);
      if (!doc.ok) throw doc.error;
      reader.apply(doc.value);
      expect(reader.view().items).toHaveLength(20);
      const sorted = [...latencies].sort((a, b) => a - b);
      expect(sorted).toHaveLength(20);
      expect(sorted.every(Number.isFinite)).toBe(true);
      console.log(
        `live: 20/20 changes pushed to the watcher; write→notice p50 ${percentile(sorted, 0.5).toFixed(1)} ms, ` +
          `max ${percentile(sorted, 1).toFixed(1)} ms (the watch was in place after ${warmUps} ` +
          `write${warmUps === 1 ? '' : 's'}, ${watchMs.toFixed(0)} ms)`,
      );
    } finally {
      watcher.close();
      writer.close();
    }
  });
});
