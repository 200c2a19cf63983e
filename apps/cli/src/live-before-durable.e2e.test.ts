// Live before durable, through real processes (a proxy and 3 storage nodes, N=3 R=2 W=2, SQLite):
// a watcher is shown a write as soon as its coordinator has accepted it, while the other replicas
// cannot commit it (they are stopped, SIGSTOP), so W is out of reach; the writer hears cloud-ok
// only once a second replica has committed it (after SIGCONT).

import { afterEach, describe, expect, it } from 'vitest';
import { ListReplica, encodeList, newListId, type ListId, type ReplicaId } from '@trolley/core';
import { CloudClient, cryptoRandom } from '@trolley/node';
import { TestCluster, disposeAll } from './testing/test-cluster.ts';
import { itemNames, requestMs, sleep } from './testing/cloud-checks.ts';

afterEach(async () => {
  await disposeAll();
});

describe('live before durable', () => {
  it('a watcher sees a write while W is out of reach; the writer hears cloud-ok only after W commits', async () => {
    const tc = await TestCluster.start({ nodes: 3 });
    const watcher = new CloudClient([tc.cluster.clientEndpoint]);
    const writer = new CloudClient([tc.cluster.clientEndpoint]);
    const stopped: number[] = [];
    try {
      const listId: ListId = newListId(cryptoRandom);
      // The proxy sends a put to the first node of the list's preference list: its coordinator.
      const [coordinator, ...others] = tc.preferenceList(listId);
      const indexOf = (id: string | undefined): number => tc.nodeIds.indexOf(id as string);
      expect(indexOf(coordinator)).toBeGreaterThanOrEqual(0);
      const author = new ListReplica('writer' as ReplicaId);
      expect(
        (await writer.put(listId, encodeList(author.rename('Live')), { timeoutMs: requestMs })).outcome,
      ).toBe('ok');

      const seen = new Set<string>();
      let onPush = (): void => undefined;
      const stop = watcher.watch([listId], (id, delta) => {
        if (id !== listId) return;
        seen.add('(any)');
        for (const name of itemNames(delta)) seen.add(name);
        onPush();
      });
      const pushed = (name: string): Promise<void> =>
        new Promise((resolve) => {
          onPush = () => {
            if (seen.has(name)) resolve();
          };
          onPush();
        });
      // A watch has no reply: the first push proves it reached the proxy.
      while (!seen.has('(any)')) {
        expect(
          (await writer.put(listId, encodeList(author.rename('Live')), { timeoutMs: requestMs })).outcome,
        ).toBe('ok');
        await Promise.race([pushed('(any)'), sleep(1_000)]);
      }

      // The two other replicas stop: the coordinator commits alone, one of W=2.
      for (const id of others) {
        const i = indexOf(id);
        tc.cluster.signalNode(i, 'SIGSTOP');
        stopped.push(i);
      }
      let answered: string | undefined;
      const put = writer
        .put(listId, encodeList(author.addItem('Milk', 2)), { timeoutMs: 20_000 })
        .then((r) => {
          answered = r.outcome;
          return r;
        });
      // No timer races the notice: one that never comes is a hang, which the test's timeout reports.
      await pushed('Milk');
      // Shown to the watcher, not yet cloud-ok: give the coordinator time it would need to answer.
      await sleep(300);
      expect(answered).toBeUndefined();

      for (const i of stopped.splice(0)) tc.cluster.signalNode(i, 'SIGCONT');
      expect((await put).outcome).toBe('ok');
      stop();
    } finally {
      for (const i of stopped) tc.cluster.signalNode(i, 'SIGCONT');
      watcher.close();
      writer.close();
    }
  });
});
