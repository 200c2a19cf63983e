// The README's "Running a cloud on several machines", run as written, one machine per network
// namespace (issue 16, item 5). Each machine is a namespace on a bridge (env-netns.ts) with a
// folder of its own, where its commands run (so `--keys keys` is its own keys folder, as on a real
// machine) and its own TROLLEY_HOME: the proxies p5 and p6, the nodes a, b, c (and d, which joins
// later), the operator's machine, and two shoppers, alice and bob. Ports are the README's (5555,
// 5556, 6001: every namespace has its own), addresses the lab's instead of 10.0.0.x.
//
// In order, as the README says: every member makes its key on its machine (trolley keys new), the
// .pub files are copied into every member's keys folder, the proxies' keys are read from
// `keys list`; the proxies start, then the three nodes with --members; alice saves the cloud's
// address (config set cloud, both proxies), creates a list and adds items; bob, on another
// machine, saves the address, joins the list and reads what alice wrote. Then d gets its key
// (copied everywhere, the others' to it), starts with --seeds only, and the operator, with
// TROLLEY_KEYS=keys and the cloud saved, runs `cluster add-node`; with TROLLEY_NODE set, `cluster
// remove-node --id b`, and `cluster status` until b holds 0 keys. alice adds one more item; bob
// sees the whole list, with b stopped. (Left out: the gateway, which needs the web app built.)
//
// Root only (namespaces, veth pairs); elsewhere the test is skipped with the reason. Every process,
// namespace and folder is removed, pass or fail (env-safety.ts' exit net as well).

import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { trolleyBin } from './local-cluster.ts';
import { NetLab, netLabUnavailable, type LabHost } from './testing/env-netns.ts';
import { TrolleyProcess } from './testing/env-procs.ts';
import { registerUndo } from './testing/env-safety.ts';
import { hangMs, sleep } from './testing/cloud-checks.ts';
import { logErrorsOnly } from './testing/log-lines.ts';

const exec = promisify(execFile);

logErrorsOnly();

/** Disposers of what the running test created, newest first; afterEach runs what is left. */
const disposers: (() => Promise<void> | void)[] = [];
function track<T>(thing: T, dispose: (t: T) => Promise<void> | void): T {
  disposers.push(() => dispose(thing));
  return thing;
}
afterEach(async () => {
  const errors: unknown[] = [];
  for (const d of disposers.splice(0).reverse()) {
    try {
      await d();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) throw errors[0];
});

const netSkip = netLabUnavailable();
if (netSkip !== undefined) console.log(`multi-machine in namespaces: SKIPPED — ${netSkip}`);

const machineNames = ['p5', 'p6', 'a', 'b', 'c', 'd', 'ops', 'alice', 'bob'] as const;
type MachineName = (typeof machineNames)[number];

/** One "machine": a namespace, its folder (the commands' working folder) and its environment. */
interface Machine {
  name: MachineName;
  host: LabHost;
  dir: string;
  env: NodeJS.ProcessEnv;
}

describe('multi-machine cluster in network namespaces', () => {
  it.skipIf(netSkip !== undefined)(
    "the README's commands, one machine per namespace: a cluster that clients on other machines share; a node joins and one leaves",
    async () => {
      const started = performance.now();
      const lab = track(NetLab.create(machineNames.length), (l) => l.destroy());
      const root = mkdtempSync(join(tmpdir(), 'trolley-machines-'));
      track(
        registerUndo(`folder ${root}`, () => rmSync(root, { recursive: true, force: true })),
        (undo) => undo(),
      );
      const m = Object.fromEntries(
        machineNames.map((name, i) => {
          const dir = join(root, name);
          mkdirSync(dir);
          const env: NodeJS.ProcessEnv = { ...process.env, TROLLEY_HOME: join(dir, 'home') };
          delete env['TROLLEY_KEYS'];
          delete env['TROLLEY_NODE'];
          delete env['TROLLEY_CLOUD'];
          const machine: Machine = { name, host: lab.hosts[i] as LabHost, dir, env };
          return [name, machine];
        }),
      ) as Record<MachineName, Machine>;
      const ip = (name: MachineName): string => m[name].host.address;

      /** Runs `trolley ARGS` on a machine (its namespace, folder and environment); its stdout. */
      const trolley = async (on: Machine, ...args: string[]): Promise<string> => {
        const [command, ...prefix] = [...on.host.prefix, process.execPath, trolleyBin, ...args];
        try {
          const r = await exec(command as string, prefix, { cwd: on.dir, env: on.env, timeout: hangMs });
          return r.stdout;
        } catch (e) {
          const err = e as { stderr?: string; stdout?: string };
          throw new Error(
            `on ${on.name}: trolley ${args.join(' ')} failed: ${err.stderr ?? ''}${err.stdout ?? ''}`,
          );
        }
      };
      /** Starts a long-running `trolley ARGS` on a machine; resolves on its "ready" line. */
      const start = async (on: Machine, label: string, ...args: string[]): Promise<TrolleyProcess> =>
        track(
          await TrolleyProcess.start(label, args, {
            prefix: on.host.prefix,
            cwd: on.dir,
            env: on.env,
            timeoutMs: hangMs,
          }),
          (p) => p.stop(),
        );
      /** "then copy every NAME.pub (never a .key) into every member's keys/". */
      const sharePubs = (members: readonly Machine[]): void => {
        const pubs = members.flatMap((x) =>
          readdirSync(join(x.dir, 'keys'))
            .filter((f) => f.endsWith('.pub'))
            .map((f) => join(x.dir, 'keys', f)),
        );
        for (const x of members)
          for (const pub of pubs) {
            const to = join(x.dir, 'keys', pub.slice(pub.lastIndexOf('/') + 1));
            if (to !== pub) copyFileSync(pub, to);
          }
      };

      // ---- keys first: on each machine, a key for the member it runs ----
      await Promise.all([
        trolley(m.p5, 'keys', 'new', 'p5', '--role', 'proxy', '--keys', 'keys'),
        trolley(m.p6, 'keys', 'new', 'p6', '--role', 'proxy', '--keys', 'keys'),
        trolley(m.a, 'keys', 'new', 'a', '--role', 'node', '--keys', 'keys'),
        trolley(m.b, 'keys', 'new', 'b', '--role', 'node', '--keys', 'keys'),
        trolley(m.c, 'keys', 'new', 'c', '--role', 'node', '--keys', 'keys'),
        trolley(m.ops, 'keys', 'new', 'operator', '--role', 'operator', '--keys', 'keys'),
      ]);
      const members = [m.p5, m.p6, m.a, m.b, m.c, m.ops];
      sharePubs(members);
      const keyring = JSON.parse(await trolley(m.ops, 'keys', 'list', '--keys', 'keys', '--json')) as {
        members: { id: string; role: string; publicKey: string }[];
      };
      expect(keyring.members.map((x) => `${x.id} ${x.role}`).sort()).toEqual([
        'a node',
        'b node',
        'c node',
        'operator operator',
        'p5 proxy',
        'p6 proxy',
      ]);
      const P5 = keyring.members.find((x) => x.id === 'p5')?.publicKey as string;
      const P6 = keyring.members.find((x) => x.id === 'p6')?.publicKey as string;

      // ---- the proxies, then the nodes of the first ring ----
      await Promise.all(
        (['p5', 'p6'] as const).map((p) =>
          start(
            m[p],
            p,
            'proxy',
            '--name',
            p,
            '--keys',
            'keys',
            '--bind',
            '0.0.0.0',
            '--client-port',
            '5555',
            '--node-port',
            '5556',
          ),
        ),
      );
      const first = (['a', 'b', 'c'] as const).map((x) => `${x}=tcp://${ip(x)}:6001`).join(',');
      const nodeArgs = (id: 'a' | 'b' | 'c' | 'd'): string[] => [
        'node',
        '--id',
        id,
        '--keys',
        'keys',
        '--listen',
        'tcp://0.0.0.0:6001',
        '--advertise',
        `tcp://${ip(id)}:6001`,
        '--data',
        join(m[id].dir, 'var-lib-trolley'),
      ];
      const [, nodeB] = await Promise.all(
        (['a', 'b', 'c'] as const).map((id) =>
          start(
            m[id],
            id,
            ...nodeArgs(id),
            '--proxy',
            `tcp://${ip('p5')}:5556#${P5},tcp://${ip('p6')}:5556#${P6}`,
            '--seeds',
            first,
            '--members',
            first,
            '--n',
            '3',
            '--r',
            '2',
            '--w',
            '2',
            '--front',
            'tcp://0.0.0.0:7001',
            '--front-advertise',
            `tcp://${ip(id)}:7001`,
          ),
        ),
      );

      // ---- clients on two other machines: save the proxies once, then every command uses them ----
      const cloud = `tcp://${ip('p5')}:5555#${P5},tcp://${ip('p6')}:5555#${P6}`;
      await trolley(m.alice, 'config', 'set', 'cloud', cloud);
      await trolley(m.bob, 'config', 'set', 'cloud', cloud);
      // The nodes start on their own; a change made before the proxies see them waits on the
      // device (sync pending): create the list once alice's status says the cloud took it.
      const id = (await trolley(m.alice, 'list', 'create', 'Groceries')).trim();
      expect(id).toMatch(/^[0-9a-zA-Z_-]{10,}$/);
      await trolley(m.alice, 'item', 'add', id, 'Milk', '2');
      await trolley(m.alice, 'item', 'add', 'Groceries', 'Eggs', '12');
      await syncUntilDone(() => trolley(m.alice, 'sync'));
      const joined = await trolley(m.bob, 'list', 'join', id);
      expect(joined).toMatch(/Joined: "Groceries", 2 items/);
      expect(await items(trolley, m.bob, id)).toEqual(['eggs 0/12', 'milk 0/2']);

      // ---- a fourth machine joins, then takes its share; b retires ----
      await trolley(m.d, 'keys', 'new', 'd', '--role', 'node', '--keys', 'keys');
      sharePubs([...members, m.d]);
      await start(
        m.d,
        'd',
        ...nodeArgs('d'),
        '--proxy',
        `tcp://${ip('p5')}:5556#${P5}`,
        '--seeds',
        `a=tcp://${ip('a')}:6001`,
      );
      m.ops.env['TROLLEY_KEYS'] = 'keys';
      await trolley(m.ops, 'config', 'set', 'cloud', `tcp://${ip('p5')}:5555#${P5}`);
      const added = await trolley(
        m.ops,
        'cluster',
        'add-node',
        '--id',
        'd',
        '--endpoint',
        `tcp://${ip('d')}:6001`,
      );
      m.ops.env['TROLLEY_NODE'] = `a=tcp://${ip('a')}:6001`;
      const removed = await trolley(m.ops, 'cluster', 'remove-node', '--id', 'b');
      // "stop it when status shows it holds 0 keys" (and the handover to d is done: nothing left to hand over)
      let status: StatusRow[] = [];
      for (const since = performance.now(); ;) {
        status = (JSON.parse(await trolley(m.ops, 'cluster', 'status', '--json')) as { nodes: StatusRow[] })
          .nodes;
        const b = status.find((r) => r.id === 'b');
        if (b?.keys === 0 && b.partitions === 0 && status.every((r) => r.toHandOver === 0 && r.hints === 0))
          break;
        if (performance.now() - since > hangMs)
          throw new Error(`b still holds keys: ${JSON.stringify(status)}`);
        await sleep(500);
      }
      // The same for people: one line per node, with what it still has to hand over.
      const table = await trolley(m.ops, 'cluster', 'status');
      expect(table).toMatch(/^node +live +partitions +keys +to hand over +hints +ring +endpoint$/m);
      expect(table).toMatch(/^b +yes +0 +0 +0 +0 /m);
      const ringNodes = status.filter((r) => r.partitions > 0).map((r) => r.id);
      expect(ringNodes.sort()).toEqual(['a', 'c', 'd']);
      await nodeB?.stop();

      await trolley(m.alice, 'item', 'add', 'Groceries', 'Bread', '1');
      await syncUntilDone(() => trolley(m.alice, 'sync'));
      await syncUntilDone(() => trolley(m.bob, 'sync'));
      expect(await items(trolley, m.bob, id)).toEqual(['bread 0/1', 'eggs 0/12', 'milk 0/2']);

      console.log(
        `README multi-machine commands in ${machineNames.length} namespaces (${lab.hosts.map((h) => h.address).join(', ')}): ` +
          `2 proxies, nodes a b c; alice's list read by bob; ${lastLine(added)}; ${lastLine(removed)}; ` +
          `status ${status.map((r) => `${r.id} ${r.partitions}p ${r.keys}k ${r.toHandOver} to hand over`).join(', ')}; ` +
          `bob sees bread, eggs, milk; ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    },
  );
});

interface StatusRow {
  id: string;
  live: boolean;
  partitions: number;
  keys: number;
  toHandOver: number;
  hints: number;
}

const lastLine = (text: string): string => text.trim().split('\n').pop() ?? '';

/** `trolley sync` until it exits 0 (exit 5: changes still waiting, e.g. the proxies not seeing the nodes yet). */
async function syncUntilDone(sync: () => Promise<string>): Promise<void> {
  const since = performance.now();
  for (;;) {
    try {
      await sync();
      return;
    } catch (e) {
      if (performance.now() - since > hangMs) throw e;
      await sleep(500);
    }
  }
}

/** A list's items as "key bought/wanted", read on a machine (`list show --json`). */
async function items(
  trolley: (on: Machine, ...args: string[]) => Promise<string>,
  on: Machine,
  id: string,
): Promise<string[]> {
  const doc = JSON.parse(await trolley(on, 'list', 'show', id, '--json')) as {
    items: { key: string; wanted: number; bought: number }[];
  };
  return doc.items.map((i) => `${i.key} ${i.bought}/${i.wanted}`);
}
