// bench:cli — how long the `trolley` command takes to answer, against starting Node itself.
//
// Each figure is the wall time of a whole process, from spawn to exit (or, for the menu, to its
// first prompt on a pseudo-terminal), measured in pairs that alternate with `node -e 0`, so that
// whatever else the machine does falls on both sides of each ratio alike. Medians of
// BENCH_CLI_PAIRS pairs (default 9):
//   versionVsNode  `trolley --version`                      ÷ `node -e 0`
//   listLsVsNode   `trolley list ls` on a home with 20 lists ÷ `node -e 0`
//   menuFirstPromptMs  `trolley` alone until "Choose a list" shows (ms; absolute)
// It runs the compiled command (bin/trolley.js → apps/cli/dist), as people do; BENCH_CLI_BIN names
// another checkout's bin/trolley.js to measure instead (an older version, side by side).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envNumber, median, table } from '../common.ts';

const trolleyBin =
  process.env['BENCH_CLI_BIN'] ?? fileURLToPath(new URL('../../bin/trolley.js', import.meta.url));
const pairs = envNumber('BENCH_CLI_PAIRS', 9);
/** A cloud address nobody answers, so that no command waits for a network. */
const noCloud = 'tcp://127.0.0.1:1';

function wallMs(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

/** From spawn until `marker` appears on the terminal of `trolley` run under script(1). */
function firstPromptMs(env: NodeJS.ProcessEnv, marker: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('script', ['-qfec', `${process.execPath} ${trolleyBin}`, '/dev/null'], {
      env: { ...env, TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "${marker}" within 60 s; saw: ${JSON.stringify(seen.slice(-300))}`));
    }, 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (!seen.includes(marker)) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(ms);
    });
    child.once('error', reject);
  });
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'trolley-bench-cli-'));
  const env = { ...process.env, TROLLEY_HOME: home, TROLLEY_CLOUD: noCloud };
  try {
    process.stderr.write(`bench:cli: a home with 20 lists in ${home}…\n`);
    for (let i = 1; i <= 20; i++) wallMs([trolleyBin, 'list', 'create', `List ${i}`], env);
    const node: number[] = [];
    const version: number[] = [];
    const listLs: number[] = [];
    const menu: number[] = [];
    for (let i = 0; i < pairs; i++) {
      process.stderr.write(`\rpair ${i + 1} of ${pairs}`);
      node.push(wallMs(['-e', '0'], env));
      version.push(wallMs([trolleyBin, '--version'], env));
      node.push(wallMs(['-e', '0'], env));
      listLs.push(wallMs([trolleyBin, 'list', 'ls'], env));
      menu.push(await firstPromptMs(env, 'Choose a list'));
    }
    process.stderr.write('\n');
    const nodeMs = median(node);
    const rows = [
      ['node -e 0', nodeMs, 1],
      ['trolley --version', median(version), median(version) / nodeMs],
      ['trolley list ls (20 lists)', median(listLs), median(listLs) / nodeMs],
      ['trolley (menu) to first prompt', median(menu), median(menu) / nodeMs],
    ] as const;
    console.log(
      table(
        ['command', 'median ms', '÷ node -e 0'],
        rows.map(([name, ms, ratio]) => [name, ms.toFixed(0), ratio.toFixed(2)]),
      ),
    );
    console.log(`(${pairs} pairs, each command alternating with node -e 0; targets: ≤ 2, ≤ 3, ≤ 500 ms)`);
    console.log(
      JSON.stringify({
        bench: 'cli',
        bin: trolleyBin,
        pairs,
        nodeMs: Math.round(nodeMs),
        ratios: {
          versionVsNode: Number((median(version) / nodeMs).toFixed(2)),
          listLsVsNode: Number((median(listLs) / nodeMs).toFixed(2)),
        },
        menuFirstPromptMs: Math.round(median(menu)),
      }),
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
