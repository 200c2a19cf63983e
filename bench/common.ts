// Helpers shared by the benchmarks: statistics, a seeded generator, a text table, settings from the
// environment, and stopping on Ctrl-C.
// Nothing here measures anything; each benchmark's own header says what it measures.

import type { Random } from '@trolley/core';

/** The median of `xs` (the mean of the middle two for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile (`q` in [0, 1]) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/**
 * mulberry32: a small, fast, seeded generator of uint32s, so that every run draws the same
 * numbers (the seeds define the workloads).
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A core `Random` whose bytes are the low bytes of `rng(seed)`, one number a byte. */
export function seededRandom(seed: number): Random {
  const next = rng(seed);
  return {
    fill: (bytes) => {
      for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
      return bytes;
    },
  };
}

/**
 * On SIGINT or SIGTERM: logs `${signal}: ${doing}`, runs `cleanup` once, then exits with 130
 * (SIGINT) or 143 (SIGTERM). Returns whether a signal has come, so that the normal way out can
 * leave the cleanup to it.
 */
export function stopOnSignal(
  log: (line: string) => void,
  cleanup: () => Promise<unknown>,
  doing: string,
): () => boolean {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: ${doing}`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  // `on`, not `once`: tsx relays the terminal's SIGINT to this process, which then gets it twice,
  // and a second one must not kill it before the cleanup is done.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => interrupted;
}

/** A positive number from the environment, or `fallback` when unset; anything else is an error. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return v;
}

/**
 * A plain-text table: a header, a rule, the rows. Columns for which `alignLeft(i)` holds are padded
 * on the right (names), the others on the left (figures).
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  alignLeft: (column: number) => boolean = (i) => i === 0,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (alignLeft(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
