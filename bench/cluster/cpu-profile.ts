// CPU profiles of the cluster's processes, for finding their hot paths (CLUSTER_BENCH_CPU_PROF in
// run.ts). Node refuses --cpu-prof in NODE_OPTIONS, and LocalCluster starts the proxy and nodes
// itself, so profiling goes in through a preloaded module instead: profileHook() writes a small
// ES module that starts the V8 profiler through node:inspector when the process starts and writes
// DIR/<role>-<pid>.cpuprofile when it exits; pass it with NODE_OPTIONS=--import=<file>.
//
// summarizeProfile() reads one profile and ranks functions by self time (time with the function
// at the top of the stack) and by total time (anywhere on the stack). Time is the sampler's
// interval before each sample (timeDeltas), so a thread blocked in a system call (an fsync, say)
// is charged to the native call it was blocked in, not lost.
//
//   npx tsx bench/cluster/cpu-profile.ts FILE.cpuprofile [top]     prints both rankings

import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Writes the preload module into `dir` and returns its path. */
export function profileHook(dir: string, samplingIntervalUs = 500): string {
  const file = join(dir, 'cpu-profile-hook.mjs');
  writeFileSync(
    file,
    `// Written by bench/cluster/cpu-profile.ts: profiles this process until it exits.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
const args = process.argv.slice(2);
const id = args.indexOf('--id');
const role = id >= 0 ? 'node-' + args[id + 1] : args.includes('proxy') ? 'proxy' : 'process';
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: ${samplingIntervalUs} });
session.post('Profiler.start');
process.on('exit', () => {
  session.post('Profiler.stop', (error, result) => {
    if (error) return;
    writeFileSync(${JSON.stringify(dir)} + '/' + role + '-' + process.pid + '.cpuprofile', JSON.stringify(result.profile));
  });
});
`,
  );
  return file;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotFunction {
  name: string;
  /** Milliseconds, and share of the profiled wall time. */
  ms: number;
  share: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  /** Wall time not idle (outside "(idle)"), as a share. */
  busyShare: number;
  self: HotFunction[];
  total: HotFunction[];
}

const frameName = (n: ProfileNode): string => {
  const f = n.callFrame;
  const where =
    f.url === ''
      ? ''
      : ` ${f.url.replace(/^.*\/(packages|apps|node_modules|bench)\//, '$1/')}:${f.lineNumber + 1}`;
  return `${f.functionName === '' ? '(anonymous)' : f.functionName}${where}`;
};

/**
 * Ranks the functions of the profile in `file`; with `windows` (monotonic µs, the clock of V8's
 * timestamps and of process.hrtime), only the samples taken inside them count.
 */
export function summarizeProfile(
  file: string,
  top = 15,
  windows: readonly { fromUs: number; toUs: number }[] = [],
): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfMs = new Map<string, number>();
  const totalMs = new Map<string, number>();
  let wall = 0;
  let idle = 0;
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0;
    if (windows.length > 0 && !windows.some((w) => at >= w.fromUs && at <= w.toUs)) continue;
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    wall += ms;
    const node = byId.get(p.samples[i] as number);
    if (node === undefined) continue;
    const name = frameName(node);
    if (node.callFrame.functionName === '(idle)') idle += ms;
    selfMs.set(name, (selfMs.get(name) ?? 0) + ms);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id) as ProfileNode;
      const nm = frameName(n);
      if (seen.has(nm)) continue;
      seen.add(nm);
      totalMs.set(nm, (totalMs.get(nm) ?? 0) + ms);
    }
  }
  const rank = (m: Map<string, number>): HotFunction[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Number(ms.toFixed(1)), share: Number((ms / wall).toFixed(4)) }));
  return {
    file: basename(file),
    wallMs: Number(wall.toFixed(1)),
    busyShare: Number(((wall - idle) / wall).toFixed(4)),
    self: rank(selfMs),
    total: rank(
      new Map(
        [...totalMs.entries()].filter(
          ([name]) =>
            !name.startsWith('(root)') && !name.startsWith('(program)') && !name.startsWith('(idle)'),
        ),
      ),
    ),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`.padStart(6);
  const lines = [
    `${s.file}: ${(s.wallMs / 1000).toFixed(1)} s profiled, ${pct(s.busyShare).trim()} not idle`,
    '  self time:',
    ...s.self.map((f) => `    ${pct(f.share)}  ${f.name}`),
    '  total time (on the stack):',
    ...s.total.map((f) => `    ${pct(f.share)}  ${f.name}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: cpu-profile.ts FILE.cpuprofile [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(summarizeProfile(file, Number(process.argv[3] ?? 15)))}\n`);
}
