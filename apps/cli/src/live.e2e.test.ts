// Live updates through the real cloud: a client that watches a list is told when another
// client's write to it becomes cloud-ok — pushed by the coordinator through every proxy, not
// polled — and a get then brings the change.

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

afterEach(async () => {
  await disposeAll();
});

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

describe('live updates', () => {
  it("a watching client learns of another client's cloud-ok write within milliseconds", async () => {
    const tc = await TestCluster.start({ nodes: 3 });
    const watcher = new CloudClient([tc.cluster.clientEndpoint]);
    const writer = new CloudClient([tc.cluster.clientEndpoint]);
    try {
      const listId: ListId = newListId(cryptoRandom);
      const author = new ListReplica('writer' as ReplicaId);
      expect((await writer.put(listId, encodeList(author.rename('Live')))).outcome).toBe('ok');
      const seen: number[] = [];
      let resolveNext: (() => void) | undefined;
      const stop = watcher.watch([listId], (id) => {
        if (id !== listId) return;
        seen.push(performance.now());
        resolveNext?.();
      });
      await new Promise((r) => setTimeout(r, 300)); // the watch reaches the proxy
      const latencies: number[] = [];
      for (let i = 0; i < 20; i++) {
        const notified = new Promise<void>((resolve) => (resolveNext = resolve));
        const sent = performance.now();
        const result = await writer.put(listId, encodeList(author.addItem(`item ${i}`, 1)));
        expect(result.outcome).toBe('ok');
        await Promise.race([notified, new Promise((r) => setTimeout(r, 2_000))]);
        latencies.push((seen[seen.length - 1] ?? Infinity) - sent);
      }
      stop();
      const reader = new ListReplica('reader' as ReplicaId);
      const reply = await watcher.get(listId, encodeContext(reader.state.ctx, reader.state.replicas));
      const doc = decodeList(reply.delta);
      if (!doc.ok) throw doc.error;
      reader.apply(doc.value);
      expect(reader.view().items).toHaveLength(20);
      const sorted = [...latencies].sort((a, b) => a - b);
      expect(sorted.every(Number.isFinite)).toBe(true);
      console.log(
        `live: 20/20 changes pushed to the watcher; write→notice p50 ${percentile(sorted, 0.5).toFixed(1)} ms, max ${percentile(sorted, 1).toFixed(1)} ms`,
      );
    } finally {
      watcher.close();
      writer.close();
    }
  });
});
