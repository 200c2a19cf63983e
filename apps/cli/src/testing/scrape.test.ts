import { describe, expect, it } from 'vitest';
import { parseExposition } from './scrape.ts';

const good = [
  '# HELP t_requests_total Requests.',
  '# TYPE t_requests_total counter',
  't_requests_total{kind="put",cause=""} 3',
  '# HELP t_seconds Time.',
  '# TYPE t_seconds histogram',
  't_seconds_bucket{le="0.1",kind="put"} 1',
  't_seconds_bucket{le="+Inf",kind="put"} 2',
  't_seconds_sum{kind="put"} 0.3',
  't_seconds_count{kind="put"} 2',
  '',
].join('\n');

describe('the strict exposition parser of the metrics test', () => {
  it('reads a well-formed exposition, labelled histograms included', () => {
    const f = parseExposition(good);
    expect(f.get('t_requests_total')?.samples[0]).toEqual({
      name: 't_requests_total',
      labels: { kind: 'put', cause: '' },
      value: 3,
    });
    expect(f.get('t_seconds')?.samples).toHaveLength(4);
    // As Prometheus reads it (prom-client writes NaN as Nan).
    expect(
      parseExposition(good.replace('} 3', '} Nan')).get('t_requests_total')?.samples[0]?.value,
    ).toBeNaN();
  });

  it('refuses what is not the format', () => {
    expect(() => parseExposition(good.replace('} 3', '} three'))).toThrow(/not a number/);
    expect(() => parseExposition(good.replace('kind="put",cause', 'kind=put,cause'))).toThrow();
    expect(() =>
      parseExposition(good.replace('t_seconds_count{kind="put"} 2', 't_seconds_count{kind="put"} 5')),
    ).toThrow(/\+Inf bucket/);
    expect(() => parseExposition(good.replace('le="0.1",kind="put"} 1', 'le="0.1",kind="put"} 9'))).toThrow(
      /decreases/,
    );
    expect(() => parseExposition(`stray 1\n${good}`)).toThrow(/before any family/);
    expect(() => parseExposition(good.replace('t_seconds_sum', 't_other_sum'))).toThrow(/does not belong/);
  });
});
