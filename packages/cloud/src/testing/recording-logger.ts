// A Logger that keeps every line, for tests that check what was logged (refusals at warn, no list
// ID in clear).

import type { Logger } from '../ports.ts';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  event: string;
  fields: Record<string, unknown>;
}

/** A logger that appends every line to `lines`. */
export function recordingLogger(lines: LogLine[]): Logger {
  const line =
    (level: LogLine['level']) =>
    (event: string, fields: Record<string, unknown> = {}): void => {
      lines.push({ level, event, fields });
    };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
