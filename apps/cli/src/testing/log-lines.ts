// The processes' stderr in a test (LocalCluster's `stderr` option): pino JSON lines by process
// name, in arrival order, with a wait for a line and a filter for warnings.

import { afterAll, beforeAll } from 'vitest';
import { hangMs } from './cloud-checks.ts';

export interface LogLine {
  name: string;
  line: string;
  json: Record<string, unknown> | undefined;
}

/** The processes' log lines (JSON from pino), by process name, in arrival order. */
export class LogLines {
  readonly lines: LogLine[] = [];
  private readonly waiters = new Set<() => void>();

  readonly sink = (name: string, line: string): void => {
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(line) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    this.lines.push({ name, line, json });
    for (const w of [...this.waiters]) w();
  };

  /**
   * Warn lines (pino level 40) of process `name` whose event is one of `events`: from line index
   * `since` on, and with this `reason` if given.
   */
  warnings(
    name: string,
    events: string | readonly string[],
    filter: { since?: number; reason?: string } = {},
  ): Record<string, unknown>[] {
    const wanted = typeof events === 'string' ? [events] : events;
    return this.lines
      .slice(filter.since ?? 0)
      .filter((l) => l.name === name && l.json?.['level'] === 40 && wanted.includes(String(l.json['msg'])))
      .map((l) => l.json as Record<string, unknown>)
      .filter((j) => filter.reason === undefined || j['reason'] === filter.reason);
  }

  /** Resolves once `done` holds (checked at every new line); rejects after `guardMs` (a hang guard). */
  async until(what: string, done: () => boolean, guardMs = hangMs): Promise<void> {
    if (done()) return;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${guardMs} ms waiting for ${what}`));
      }, guardMs);
      this.waiters.add(check);
    });
  }
}

/**
 * Keeps the processes a test file starts to error logs (TROLLEY_LOG=error) unless the caller
 * asked for more, and puts TROLLEY_LOG back afterwards: they log a warning for every dropped or
 * refused frame, and faults make many.
 */
export function logErrorsOnly(): void {
  const before = process.env['TROLLEY_LOG'];
  beforeAll(() => {
    process.env['TROLLEY_LOG'] ??= 'error';
  });
  afterAll(() => {
    if (before === undefined) delete process.env['TROLLEY_LOG'];
    else process.env['TROLLEY_LOG'] = before;
  });
}
