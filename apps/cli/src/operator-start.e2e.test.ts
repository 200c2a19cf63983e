// `trolley start` with an operator token (in $TROLLEY_OPERATOR_TOKEN, as the README says): the ready
// line names the cluster page, which answers only with the token, and whose data — polled by the
// gateway process through the operator key in the local cloud's keys folder — covers the ring and
// every node. Ctrl-C stops it all.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, trolleyBin } from './local-cluster.ts';
import { freePortPair } from './testing/test-cluster.ts';

const dir = mkdtempSync(join(tmpdir(), 'trolley-operator-start-'));
const token = 'token-of-the-start-test-0123456789';
/** Hang guards, not budgets. */
const startGuardMs = 300_000;
const pollGuard = { timeout: 120_000 };

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trolley start with an operator token', () => {
  it('prints the cluster page, which shows the ring and every node to the token only', async () => {
    const child = spawn(
      process.execPath,
      [
        trolleyBin,
        'start',
        '--json',
        '--port',
        String(await freePort()),
        '--proxy-port',
        String(await freePortPair()),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          TROLLEY_LOG: 'error',
          TROLLEY_DATA: join(dir, 'data'),
          TROLLEY_HOME: join(dir, 'home'),
          TROLLEY_OPERATOR_TOKEN: token,
        },
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const ready = await new Promise<{ url: string; operator: string | null }>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ready line (hang guard):\n${out}`)),
          startGuardMs,
        );
        child.stdout.on('data', () => {
          const m = /^(\{"ready":true.*\})$/m.exec(out);
          if (m?.[1] === undefined) return;
          clearTimeout(timer);
          resolve(JSON.parse(m[1]) as { url: string; operator: string | null });
        });
        void exited.then(() => reject(new Error(`trolley start exited:\n${out}`)));
      });
      expect(ready.operator).toBe(`${ready.url}operator`);
      expect((await fetch(ready.operator ?? '')).status).toBe(401);
      const snapshot = async (): Promise<{
        ring: { nodes: { id: string }[] } | null;
        nodes: { answered: boolean }[];
      }> =>
        (await (
          await fetch(`${ready.operator ?? ''}/snapshot.json`, {
            headers: { Authorization: `Bearer ${token}` },
          })
        ).json()) as { ring: { nodes: { id: string }[] } | null; nodes: { answered: boolean }[] };
      await expect
        .poll(async () => {
          const s = await snapshot();
          return {
            ring: s.ring?.nodes.map((n) => n.id) ?? [],
            answered: s.nodes.filter((n) => n.answered).length,
          };
        }, pollGuard)
        .toEqual({ ring: ['n1', 'n2', 'n3'], answered: 3 });
      expect(out).not.toContain(token); // the token is in the gateway's environment, never printed
    } finally {
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    }
  });
});
