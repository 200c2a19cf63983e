import { describe, expect, it } from 'vitest';
import {
  clusterSeries,
  increase,
  latencyWindows,
  maxOverMean,
  outOfBalanceShare,
  type NodeReading,
} from './series.ts';

const reading = (r: Partial<NodeReading>): NodeReading => ({
  requests: 0,
  gets: 0,
  readsDivergent: 0,
  hintsWaiting: 0,
  lists: 0,
  ...r,
});

describe('latencyWindows', () => {
  it('groups requests by window and kind, percentiles over the ok ones, failures counted apart', () => {
    const samples = [
      ...Array.from({ length: 1000 }, (_, i) => ({
        t: 0.001 * i,
        kind: 'read' as const,
        ms: i + 1,
        ok: true,
      })),
      { t: 4.9, kind: 'read' as const, ms: 5_000, ok: false },
      { t: 5.0, kind: 'write' as const, ms: 7, ok: true },
    ];
    const points = latencyWindows(samples, 5);
    expect(points).toHaveLength(2);
    expect(points[0]).toEqual({ t: 0, kind: 'read', count: 1001, failed: 1, p50: 500, p99: 990, p999: 999 });
    expect(points[1]).toMatchObject({ t: 5, kind: 'write', count: 1, failed: 0, p50: 7, p999: 7 });
  });

  it('refuses a window that is not positive', () => {
    expect(() => latencyWindows([], 0)).toThrow(RangeError);
  });
});

describe('imbalance', () => {
  it('largest ÷ mean, and the share of nodes more than 15% off the mean', () => {
    expect(maxOverMean([1, 1, 1, 1])).toBe(1);
    expect(maxOverMean([2, 1, 1, 0])).toBe(2);
    expect(outOfBalanceShare([100, 100, 100, 100])).toBe(0);
    expect(outOfBalanceShare([120, 100, 100, 80])).toBe(0.5); // mean 100: 120 and 80 are 20% off
    expect(maxOverMean([])).toBeNaN();
    expect(outOfBalanceShare([0, 0])).toBeNaN();
  });
});

describe('clusterSeries', () => {
  it('takes counter increases per interval, reads a lower value as a restart, and leaves out a node that did not answer', () => {
    expect(increase(10, 15)).toBe(5);
    expect(increase(10, 3)).toBe(3);
    const points = clusterSeries([
      { t: 1, nodes: { n1: reading({ requests: 100, gets: 10 }), n2: reading({ requests: 100, gets: 10 }) } },
      {
        t: 2,
        nodes: {
          n1: reading({ requests: 130, gets: 30, readsDivergent: 3, hintsWaiting: 4, lists: 6 }),
          n2: reading({ requests: 110, gets: 20, readsDivergent: 0, hintsWaiting: 1, lists: 4 }),
        },
      },
      // n2 did not answer; n1 restarted (its counters start from 0)
      { t: 3, nodes: { n1: reading({ requests: 20, gets: 10, readsDivergent: 2 }) } },
    ]);
    expect(points).toHaveLength(2);
    expect(points[0]).toEqual({
      t: 2,
      nodesSeen: 2,
      gets: 30,
      divergentShare: 3 / 30,
      hintsWaiting: 5,
      imbalance: 30 / 20,
      outOfBalance: 1,
      listsImbalance: 6 / 5,
    });
    expect(points[1]).toMatchObject({ t: 3, nodesSeen: 1, gets: 10, divergentShare: 0.2, imbalance: 1 });
  });
});
