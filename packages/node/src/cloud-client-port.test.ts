// CloudClient is the client engine's CloudPort (@trolley/client ports.ts), checked by the type
// checker, and at run time against a cloud that is not there: a put is 'unknown', never "failed",
// and the change stays in the outbox.

import { describe, expect, expectTypeOf, it } from 'vitest';
import { MemoryClientStore, TrolleyClient, type CloudPort } from '@trolley/client';
import { ManualClock, SeededRandom } from '@trolley/client/testing';
import { CloudClient } from './cloud-client.ts';

describe('CloudClient as a CloudPort', () => {
  it('satisfies the port structurally', () => {
    expectTypeOf<CloudClient>().toExtend<CloudPort>();
    const port: CloudPort = null as unknown as CloudClient; // fails to compile if the shapes drift
    expect(port).toBeNull();
  });

  it('with no cloud running, a sync leaves the change local and says so', async () => {
    // Port 1 (tcpmux) is not served here: ZeroMQ keeps trying to connect and nothing answers.
    const cloud = new CloudClient(['tcp://127.0.0.1:1'], { attemptMs: 100 });
    try {
      const client = await TrolleyClient.open(new MemoryClientStore(), {
        clock: new ManualClock(),
        random: new SeededRandom(1),
      });
      const id = await client.createList('Offline');
      const summary = await client.syncOnce(cloud, { timeoutMs: 300 });
      expect(summary).toMatchObject({ pushed: 1, acknowledged: 0, unknown: 1, outboxLeft: 1 });
      expect(client.status(id)).toBe('local');
    } finally {
      cloud.close();
    }
  });
});
