// Who may see the operator page, over real HTTP against a real gateway (no cluster is needed: the
// page reports the nodes that do not answer): no page without a token configured, a token too
// short refused at start, the form's wrong token refused, the session cookie accepted only as
// signed, and at most limits.operatorConnectionsMax live pages at once (room again when one
// closes). Each open page gets a snapshot pushed.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits } from '@trolley/core';
import { freePort } from '../../cli/src/local-cluster.ts';
import { startGateway, type RunningGateway } from './gateway.ts';

const token = 'a-long-enough-operator-token';
const webRoot = mkdtempSync(join(tmpdir(), 'trolley-operator-web-'));
let gateway: RunningGateway;

beforeAll(async () => {
  mkdirSync(webRoot, { recursive: true });
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(webRoot, 'operator.html'), '<!doctype html><title>the operator page</title>');
  gateway = await startGateway({
    cloud: ['tcp://127.0.0.1:1'],
    host: '127.0.0.1',
    port: await freePort(),
    webRoot,
    // An insecure cluster (no keys) whose one node is nowhere: every round reports it silent.
    operator: { token, keysDir: undefined, nodes: [{ id: 'n1', address: 'tcp://127.0.0.1:1' }] },
  });
});

afterAll(async () => {
  await gateway?.stop();
  rmSync(webRoot, { recursive: true, force: true });
});

const login = (given: string): Promise<Response> =>
  fetch(`${gateway.url}operator/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: given }).toString(),
    redirect: 'manual',
  });

/** Reads a server-sent event stream until its first `snapshot` event; returns its data. */
async function firstSnapshot(res: Response): Promise<Record<string, unknown>> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before a snapshot: ${text}`);
    text += decoder.decode(value, { stream: true });
    const m = /event: snapshot\ndata: (.*)\n\n/.exec(text);
    if (m !== null) return JSON.parse(m[1] as string) as Record<string, unknown>;
  }
}

describe('operator page access', () => {
  it('has no page without a token, and refuses a short token at start', async () => {
    const off = await startGateway({ cloud: ['tcp://127.0.0.1:1'], host: '127.0.0.1', port: 0, webRoot });
    try {
      for (const path of ['operator', 'operator/events', 'operator/login', 'operator.html'])
        expect((await fetch(`${off.url}${path}`)).status, path).toBe(404);
      expect((await fetch(off.url)).status).toBe(200);
    } finally {
      await off.stop();
    }
    await expect(
      startGateway({
        cloud: ['tcp://127.0.0.1:1'],
        host: '127.0.0.1',
        port: 0,
        operator: { token: 'short', keysDir: undefined, nodes: [{ address: 'tcp://127.0.0.1:1' }] },
      }),
    ).rejects.toThrow(/at least 16 characters/);
  });

  it('signs in with the right token only, and accepts only the cookie it signed', async () => {
    const page = await fetch(`${gateway.url}operator`);
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('Operator token');
    expect((await login('a-long-enough-operator-tokeN')).status).toBe(403);
    expect((await login('')).status).toBe(403);
    const ok = await login(token);
    expect(ok.status).toBe(303);
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^trolley-operator=\d+\.[0-9a-f]{64}$/);
    expect(ok.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    const withCookie = await fetch(`${gateway.url}operator`, { headers: { Cookie: cookie } });
    expect(withCookie.status).toBe(200);
    expect(await withCookie.text()).toContain('the operator page');
    // A later expiry with the same MAC, or a changed MAC, is not a session.
    const [name, value] = cookie.split('=') as [string, string];
    const [expires, mac] = value.split('.') as [string, string];
    const later = `${name}=${Number(expires) + 1000}.${mac}`;
    const flipped = `${name}=${expires}.${mac.slice(0, -1)}${mac.endsWith('0') ? '1' : '0'}`;
    for (const bad of [later, flipped, `${name}=${expires}`, `${name}=x.y`])
      expect(
        (await fetch(`${gateway.url}operator/snapshot.json`, { headers: { Cookie: bad } })).status,
        bad,
      ).toBe(401);
    // The build's file is never served as it is.
    expect((await fetch(`${gateway.url}operator.html`, { headers: { Cookie: cookie } })).status).toBe(404);
  });

  it(`serves at most ${limits.operatorConnectionsMax} live pages, each pushed snapshots`, async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const controllers = Array.from({ length: limits.operatorConnectionsMax }, () => new AbortController());
    const streams = await Promise.all(
      controllers.map((c) => fetch(`${gateway.url}operator/events`, { headers: auth, signal: c.signal })),
    );
    try {
      for (const s of streams) expect(s.status).toBe(200);
      const snapshot = await firstSnapshot(streams[0] as Response);
      expect(snapshot['problems']).toEqual([expect.stringMatching(/^n1 did not answer/)]);
      expect(snapshot['ring']).toBeNull();
      const over = await fetch(`${gateway.url}operator/events`, { headers: auth });
      expect(over.status).toBe(503);
      // One page closes: room for another.
      controllers[0]?.abort();
      await expect
        .poll(async () => {
          const again = await fetch(`${gateway.url}operator/events`, { headers: auth });
          if (again.status === 200) await again.body?.cancel();
          return again.status;
        })
        .toBe(200);
    } finally {
      for (const c of controllers) c.abort();
    }
  });
});
