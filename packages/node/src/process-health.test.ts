import { describe, expect, it } from 'vitest';
import { watchProcessHealth } from './process-health.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('process health', () => {
  it('counts an event-loop stall, with its length', async () => {
    const health = watchProcessHealth();
    try {
      const before = health.read();
      await sleep(50); // the timer is running
      const until = performance.now() + 150;
      while (performance.now() < until) {
        // the event loop is blocked: what a long commit or a huge encode does
      }
      // The stall is seen when the timer runs next.
      for (let i = 0; i < 100 && (health.read()['loopStalls100ms'] ?? 0) === before['loopStalls100ms']; i++)
        await sleep(20);
      const after = health.read();
      console.log(`process health: ${JSON.stringify(after)}`);
      expect((after['loopStalls100ms'] ?? 0) - (before['loopStalls100ms'] ?? 0)).toBeGreaterThanOrEqual(1);
      expect(after['loopStallMaxMs']).toBeGreaterThanOrEqual(100);
      // And it is found again as the pause overlapping that stretch of time, and not outside it.
      expect(health.pausesDuring(until - 150, until).stallMs).toBeGreaterThanOrEqual(100);
      expect(health.pausesDuring(until + 5_000, until + 6_000).stallMs).toBe(0);
    } finally {
      health.stop();
    }
  });
});
