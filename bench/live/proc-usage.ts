// CPU time and resident memory of processes, read from /proc (Linux): the driver measures the
// server side this way, from outside, so that a server whose event loop is saturated is still
// measured. utime + stime in /proc/PID/stat are the kernel counters that process.cpuUsage()
// (getrusage) reports from inside, at 1/100 s resolution.

import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc/PID/stat counts CPU time in 1/100 s. */
const CLOCK_TICKS_PER_S = 100;

export interface ProcSample {
  /** User + system CPU µs so far, summed over the processes. */
  cpuUs: number;
  /** Resident memory now (VmRSS), summed. */
  rssBytes: number;
  /** Peak resident memory (VmHWM), summed. */
  peakRssBytes: number;
  /** Processes that could be read. */
  readable: number;
}

export function procSample(pids: readonly number[]): ProcSample {
  const out: ProcSample = { cpuUs: 0, rssBytes: 0, peakRssBytes: 0, readable: 0 };
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // After the command name (which may hold spaces and parentheses): field 3 (state) onwards;
      // utime is field 14, stime field 15.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (field: string): number =>
        Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
      out.cpuUs += ((Number(rest[11]) + Number(rest[12])) * 1e6) / CLOCK_TICKS_PER_S;
      out.rssBytes += kb('VmRSS') * 1024;
      out.peakRssBytes += kb('VmHWM') * 1024;
      out.readable++;
    } catch {
      // gone, or no /proc
    }
  }
  return out;
}
