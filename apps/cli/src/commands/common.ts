// Shared pieces of the CLI: option parsing, errors as one clear line, waiting for a signal.

import { InvalidArgumentError, type Command } from 'commander';
import type { TrolleyError } from '@trolley/core';
import { parseNodeId, type NodeId } from '@trolley/core';
import { checkQuorum, type Quorum } from '@trolley/cloud';
import type { MetricsAddress } from '@trolley/node/metrics-server';
import { endpoints } from '../globals.ts';

export function intOption(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

export interface MetricsOptions {
  metricsPort: number;
  metricsHost: string;
}

/** --metrics-port and --metrics-host, for a command that runs a server process. */
export function metricsOptions(command: Command): Command {
  return command
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics at http://HOST:PORT/metrics (0: no metrics port; see docs/METRICS.md)',
      intOption('port', 0, 65_535),
      0,
    )
    .option(
      '--metrics-host <host>',
      'address the metrics port binds (0.0.0.0: every interface)',
      '127.0.0.1',
    );
}

/** Where to serve metrics, or undefined for --metrics-port 0. */
export function metricsAddress(o: MetricsOptions): MetricsAddress | undefined {
  return o.metricsPort === 0 ? undefined : { host: o.metricsHost, port: o.metricsPort };
}

export function members(value: string): { id: NodeId; address: string }[] {
  return value.split(',').map((entry) => {
    const [id, address] = entry.split('=');
    if (id === undefined || address === undefined)
      throw new InvalidArgumentError(`a member is id=tcp://host:port, not ${entry}`);
    return { id: parseNodeId(id.trim()), address: endpoints(address)[0] as string };
  });
}

export function quorumFrom(
  o: { n: number; r: number; w: number; weakQuorum?: boolean },
  nodes?: number,
): Quorum {
  return checkQuorum(
    { n: o.n, r: o.r, w: o.w },
    { allowWeak: o.weakQuorum === true, ...(nodes === undefined ? {} : { nodes }) },
  );
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** Exit codes: 2 bad input, 3 not found or unreachable, 4 limit, 1 anything else. */
export function exitCodeOf(e: TrolleyError): number {
  switch (e.code) {
    case 'invalid_argument':
      return 2;
    case 'not_found':
      return 3;
    case 'limit_exceeded':
      return 4;
    case 'decode_truncated':
    case 'decode_version':
    case 'decode_malformed':
    case 'decode_wrong_plane':
      return 1;
  }
}

/** A node to ask: its address (with its key after #, if known) and, if known, its ID. */
export interface NodeSource {
  address: string;
  id?: string;
}

/**
 * Parses --node and $TROLLEY_NODE: comma-separated tcp://host:port#KEY (the node's key after #),
 * or ID=tcp://host:port (the node named ID, its key from the operator's keyring).
 */
export function nodeList(value: string): NodeSource[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((entry): NodeSource => {
      const eq = entry.indexOf('=');
      if (eq < 0) return { address: endpoints(entry)[0] as string };
      return {
        id: parseNodeId(entry.slice(0, eq).trim()),
        address: endpoints(entry.slice(eq + 1))[0] as string,
      };
    });
  if (list.length === 0)
    throw new InvalidArgumentError('give a node: tcp://host:port#KEY or ID=tcp://host:port');
  return list;
}
