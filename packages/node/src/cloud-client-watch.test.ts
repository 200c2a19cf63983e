// Watch lanes (cloud-client.ts): a client watching more than watchedListsMax lists (a gateway)
// keeps one connection per thousand, and a change to its set is sent only on the lanes it changes
// — a browser opening one list must not make the gateway resend fifty thousand IDs.

import { afterAll, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { decodeMessage, limits, newListId, type ListId } from '@trolley/core';
import { cryptoRandom } from './clock.ts';
import { CloudClient } from './cloud-client.ts';

/** A wait that has not seen its event by now is taken for a hang: a guard, never a budget. */
const hangGuardMs = 60_000;

describe('CloudClient watch lanes', () => {
  const proxy = new zmq.Router({ linger: 0 });
  const watches: { lane: string; lists: ListId[] }[] = [];
  let cloud: CloudClient | undefined;

  afterAll(() => {
    cloud?.close();
    proxy.close();
  });

  async function until(count: number): Promise<void> {
    const started = Date.now();
    while (watches.length < count) {
      if (Date.now() - started > hangGuardMs)
        throw new Error(`only ${watches.length} of ${count} watches arrived`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('sends a change of the watched set only on the lanes it changes', async () => {
    await proxy.bind('tcp://127.0.0.1:0');
    void (async () => {
      for await (const [route, frame] of proxy) {
        const m = decodeMessage(frame ?? new Uint8Array());
        if (m.ok && m.value.type === 'watch')
          watches.push({ lane: (route as Buffer).toString('hex'), lists: m.value.listIds });
      }
    })().catch(() => undefined);
    cloud = new CloudClient([proxy.lastEndpoint as string]);
    const lists = Array.from({ length: limits.watchedListsMax * 2 + 500 }, () => newListId(cryptoRandom));
    cloud.setWatched(lists);
    await until(3); // three lanes: 1,000 + 1,000 + 500
    const lanes = new Set(watches.map((w) => w.lane));
    expect(lanes.size).toBe(3);
    expect(watches.map((w) => w.lists.length).sort()).toEqual([1000, 1000, 500].sort());

    // One list of the second thousand replaced: only its lane hears of it.
    const replaced = lists[limits.watchedListsMax + 7] as ListId;
    const fresh = newListId(cryptoRandom);
    cloud.setWatched(lists.map((id) => (id === replaced ? fresh : id)));
    await until(4);
    // A lane that should stay quiet would have sent at once, as the changed one did; a second of
    // silence after it (a non-event: no event to wait for) tells them apart on a loaded machine.
    await new Promise((r) => setTimeout(r, 1_000));
    console.log(
      `watch lanes: 3 lanes set up, then 1 list replaced → ${watches.length - 3} watch frame(s) sent`,
    );
    expect(watches.length).toBe(4);
    const changed = watches[3] as { lane: string; lists: ListId[] };
    expect(changed.lists).toContain(fresh);
    expect(changed.lists).not.toContain(replaced);
    expect(changed.lists.length).toBe(limits.watchedListsMax);
  });
});
