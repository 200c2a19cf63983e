import { afterEach, describe, expect, it } from 'vitest';
import { TrolleyError } from '@trolley/core';
import { silentLogger } from '@trolley/cloud';
import { Metrics, snakeCase } from './metrics.ts';
import { serveMetrics, type MetricsServer } from './metrics-server.ts';

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** The sample lines of an exposition whose name starts with `prefix`. */
const samples = (text: string, prefix: string): string[] =>
  text.split('\n').filter((l) => l.startsWith(prefix));

describe('metrics', () => {
  it('reads counters from the object the process already keeps, at every scrape', async () => {
    const counters = { hintsStored: 0, putsOk: 0 };
    const m = new Metrics('trolley_test');
    m.countersOf({ hintsStored: 'Hints stored.', putsOk: 'Puts ok.' }, () => counters);
    counters.hintsStored = 3;
    counters.putsOk = 7;
    const first = (await m.exposition()).text;
    expect(samples(first, 'trolley_test_')).toEqual([
      'trolley_test_hints_stored_total 3',
      'trolley_test_puts_ok_total 7',
    ]);
    expect(first).toContain('# TYPE trolley_test_hints_stored_total counter');
    counters.putsOk = 9;
    expect((await m.exposition()).text).toContain('trolley_test_puts_ok_total 9');
    expect(snakeCase('antiEntropyRepairs')).toBe('anti_entropy_repairs');
  });

  it('counts requests by kind and outcome, refusals by cause, and times only those answered', async () => {
    const m = new Metrics('trolley_test');
    const o = m.requestObserver(['put', 'get']);
    // Before any request: the kinds served start at zero, so a rate is defined.
    const zero = (await m.exposition()).text;
    expect(zero).toContain('trolley_test_requests_total{kind="get",outcome="ok",cause=""} 0');
    expect(zero).toContain('trolley_test_request_duration_seconds_count{kind="put",outcome="ok"} 0');
    o.request('put', 'ok', 3);
    o.request('put', 'ok', 40);
    o.request('put', 'unknown', 5_000);
    o.request('put', 'refused', 0, 'write_check');
    const text = (await m.exposition()).text;
    expect(text).toContain('trolley_test_requests_total{kind="put",outcome="ok",cause=""} 2');
    expect(text).toContain('trolley_test_requests_total{kind="put",outcome="refused",cause="write_check"} 1');
    expect(text).toContain('trolley_test_request_duration_seconds_count{kind="put",outcome="ok"} 2');
    expect(text).toContain(
      'trolley_test_request_duration_seconds_bucket{le="0.005",kind="put",outcome="ok"} 1',
    );
    expect(text).toContain(
      'trolley_test_request_duration_seconds_bucket{le="0.05",kind="put",outcome="ok"} 2',
    );
    expect(text).toContain('trolley_test_request_duration_seconds_sum{kind="put",outcome="ok"} 0.043');
    expect(text).toContain('trolley_test_request_duration_seconds_count{kind="put",outcome="unknown"} 1');
    expect(text).not.toContain('outcome="refused"}');
  });

  it('serves /metrics over HTTP, 404 elsewhere, 405 for other methods, and says when the port is taken', async () => {
    const m = new Metrics('trolley_test');
    m.gauge('trolley_test_lists', 'Lists.', () => 42);
    const s = await serveMetrics({ metrics: m, host: '127.0.0.1', port: 0, logger: silentLogger });
    servers.push(s);
    const ok = await fetch(s.url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await ok.text();
    expect(body).toContain('trolley_test_lists 42');
    // Node's own metrics, event-loop delay among them.
    expect(body).toContain('# TYPE nodejs_eventloop_lag_p99_seconds gauge');
    expect((await fetch(s.url.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(s.url, { method: 'POST' })).status).toBe(405);

    const port = Number(new URL(s.url).port);
    const taken = serveMetrics({ metrics: m, host: '127.0.0.1', port, logger: silentLogger });
    await expect(taken).rejects.toThrow(TrolleyError);
    await expect(taken).rejects.toThrow(/metrics port \d+ on 127\.0\.0\.1 is taken/);
  });
});
