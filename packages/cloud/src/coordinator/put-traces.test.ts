import { describe, expect, it } from 'vitest';
import type { OpId } from '@trolley/core';
import { PutTraces, type PutTrace } from './put-traces.ts';

const trace = (i: number, totalMs: number): PutTrace => ({
  opId: `op${i}` as OpId,
  startMs: 1_000 * i,
  sentMs: 1_000 * i + 1,
  localMs: 2,
  remoteMs: [3, totalMs - 1],
  answeredMs: 1_000 * i + totalMs,
  outcome: 'ok',
});

describe('put traces', () => {
  it('report the slowest 0.1% of the last puts, broken down, with the pauses that overlapped them', () => {
    const traces = new PutTraces(3_000);
    for (let i = 0; i < 4_000; i++)
      traces.add(trace(i, i === 3_500 || i === 3_600 || i === 10 ? 500 : 5 + (i % 10)));
    const pauses = (from: number, to: number) => ({
      gcMs: from === 3_500_000 ? 40 : 0,
      stallMs: to - from > 100 ? 30 : 0,
    });
    const r = traces.report(pauses) as {
      traced: number;
      p50Ms: number;
      p999Ms: number;
      slowest: Record<string, unknown>[];
    };
    expect(r.traced).toBe(3_000); // the oldest 1,000 are forgotten, and with them trace 10
    expect(r.p50Ms).toBeGreaterThanOrEqual(5);
    expect(r.p50Ms).toBeLessThan(15);
    expect(r.slowest.map((s) => s['opId'])).toEqual(['op3500', 'op3600', expect.any(String)]);
    expect(r.slowest[0]).toMatchObject({
      totalMs: 500,
      checkMs: 1,
      localCommitMs: 2,
      remoteAckMs: [3, 499],
      gcMs: 40,
      stallMs: 30,
    });
    expect(r.slowest[2]?.['totalMs']).toBe(14);
    // A report covers the puts since the last one.
    traces.add(trace(5_000, 7));
    expect(traces.report(undefined)).toMatchObject({
      traced: 1,
      p50Ms: 7,
      slowest: [{ opId: 'op5000', gcMs: null }],
    });
  });
});
