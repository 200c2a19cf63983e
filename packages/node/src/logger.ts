// The structured logger for processes: pino, JSON lines on stderr (stdout stays for the one
// `ready` line and --json output). Quiet by default; TROLLEY_LOG=debug|info|warn|error.

import { pino } from 'pino';
import type { Logger } from '@trolley/cloud';

export function processLogger(component: string, fields: Record<string, unknown> = {}): Logger {
  const level = process.env['TROLLEY_LOG'] ?? 'warn';
  const base = pino({ level, base: { component, pid: process.pid, ...fields } }, pino.destination(2));
  return {
    debug: (event, f) => base.debug(f ?? {}, event),
    info: (event, f) => base.info(f ?? {}, event),
    warn: (event, f) => base.warn(f ?? {}, event),
    error: (event, f) => base.error(f ?? {}, event),
  };
}
