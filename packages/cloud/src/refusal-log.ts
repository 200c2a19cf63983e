// Warnings about refused input that a flood cannot turn into a flood of log lines (STYLE.md habit
// 9: logs are quiet). Every refusal of a client's frame is worth a line at the default level — an
// operator must see an attack — but one attacker can send a million frames a second. So each
// reason gets at most `linesPerWindowMax` lines per window; the rest are counted, and the next line
// for that reason (or `flush()` once the window is over, from the caller's timer) says how many
// were suppressed. The counters in stats stay exact; this only thins the log.

import type { Clock } from '@trolley/core';
import type { Logger } from './ports.ts';

export interface RefusalLogOptions {
  logger: Logger;
  clock: Clock;
  /** Lines per reason per window (default 3). */
  linesPerWindowMax?: number;
  /** The window (default 1 000 ms). */
  windowMs?: number;
}

interface ReasonWindow {
  startMs: number;
  lines: number;
  /** Refusals not logged since the last line of this reason. */
  suppressed: number;
}

export class RefusalLog {
  private readonly reasons = new Map<string, ReasonWindow>();
  private readonly linesMax: number;
  private readonly windowMs: number;

  constructor(private readonly o: RefusalLogOptions) {
    this.linesMax = o.linesPerWindowMax ?? 3;
    this.windowMs = o.windowMs ?? 1_000;
  }

  /**
   * Logs `event` at warn level with `reason` and `fields` (which must not hold a list ID in clear:
   * see listIdForLog), unless this reason has had its lines in this window.
   */
  warn(event: string, reason: string, fields: Record<string, unknown>): void {
    const now = this.o.clock.monotonicMs();
    let r = this.reasons.get(reason);
    if (r === undefined) {
      r = { startMs: now, lines: 0, suppressed: 0 };
      this.reasons.set(reason, r);
    }
    if (now - r.startMs >= this.windowMs) {
      r.startMs = now;
      r.lines = 0;
    }
    if (r.lines >= this.linesMax) {
      r.suppressed++;
      return;
    }
    r.lines++;
    const suppressed = r.suppressed;
    r.suppressed = 0;
    this.o.logger.warn(event, { reason, ...fields, ...(suppressed > 0 ? { suppressed } : {}) });
  }

  /** Says how many were suppressed for each reason whose window is over (call it every second). */
  flush(): void {
    const now = this.o.clock.monotonicMs();
    for (const [reason, r] of this.reasons) {
      if (now - r.startMs < this.windowMs) continue;
      if (r.suppressed > 0)
        this.o.logger.warn('refusals not logged one by one', { reason, suppressed: r.suppressed });
      this.reasons.delete(reason);
    }
  }
}
