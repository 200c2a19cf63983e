// `trolley start` (what `npm start` runs): the whole thing on one machine. Builds the web app when
// its sources changed, starts a local cloud (one proxy, three storage nodes) and a gateway that
// serves the app, with data under ./data (or $TROLLEY_DATA), and prints the address to open.
// Ctrl-C stops everything; the next start finds the same data. With --metrics-port, every process
// also serves Prometheus metrics (docs/METRICS.md), listed with the address; --json prints the
// ready line as one JSON object instead.
//
// The cloud is secure from the first start: LocalCluster makes every member's key in DATA/keys,
// and the cloud's address carries the proxy's key (tcp://127.0.0.1:5555#KEY). That address is saved
// as this home's cloud (saveLocalCloud), so terminal commands reach it with no step from anyone.

import type { Command } from 'commander';
import { defaultQuorum } from '@trolley/cloud';
import { TrolleyError } from '@trolley/core';
import { checkOperatorToken, checkPublicUrl, ensureWebBuild, webDist } from '@trolley/web/server';
import { LocalCluster, freePort, metricsLines, portFree } from '../local-cluster.ts';
import { globalsOf, homeDirOf, saveLocalCloud } from '../globals.ts';
import { intOption, untilSignal } from './common.ts';
import { summaries } from './summaries.ts';

const defaultWebPort = 8080;
const defaultProxyPort = 5555;

export function registerStart(program: Command): void {
  program
    .command('start')
    .description(summaries.start)
    .option(
      '--data <dir>',
      'folder for all data, reused on restart (default $TROLLEY_DATA, else ./data)',
      process.env['TROLLEY_DATA'] ?? './data',
    )
    .option(
      '--public-url <url>',
      'the address phones reach the app at, for share links and QR codes (default $TROLLEY_PUBLIC_URL)',
    )
    .option(
      '--port <port>',
      'web port (default $PORT, else 8080; a free one when taken)',
      intOption('port', 1, 65_535),
    )
    .option(
      '--host <host>',
      'address the web app listens on (0.0.0.0: reachable from phones on your network)',
      '127.0.0.1',
    )
    .option(
      '--proxy-port <port>',
      'client port of the proxy for terminal clients (default 5555, a free one when taken)',
      intOption('port', 1, 65_534),
    )
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics from this port up, one per process: proxy, nodes, gateway, on 127.0.0.1 (0: none; docs/METRICS.md)',
      intOption('port', 0, 65_535),
      0,
    )
    .option(
      '--operator-token <token>',
      'turn on the cluster page for operators at /operator behind this token (default $TROLLEY_OPERATOR_TOKEN; prefer the variable: a flag shows in ps)',
    )
    .option(
      '--json',
      'print the ready line as a JSON object (url, cloud, terminal, data, keys, metrics, operator)',
    )
    .action(
      async (
        o: {
          data: string;
          port?: number;
          host: string;
          proxyPort?: number;
          publicUrl?: string;
          metricsPort: number;
          operatorToken?: string;
          json?: boolean;
        },
        command: Command,
      ) => {
        const say = (line: string): void => void process.stderr.write(`${line}\n`);
        // The gateway runs as a child process and reads it from its environment.
        if (o.publicUrl !== undefined) process.env['TROLLEY_PUBLIC_URL'] = checkPublicUrl(o.publicUrl);
        const givenToken = o.operatorToken ?? (process.env['TROLLEY_OPERATOR_TOKEN'] || undefined);
        const operatorToken = givenToken === undefined ? undefined : checkOperatorToken(givenToken);
        await ensureWebBuild(say);
        const asked = o.port ?? portFromEnv() ?? defaultWebPort;
        const webPort = (await portFree(asked, o.host)) ? asked : await freePort(o.host);
        if (webPort !== asked) say(`port ${asked} is taken; using ${webPort}`);
        const proxyPort = o.proxyPort ?? (await defaultOrFreeProxyPort());
        const local = await LocalCluster.plan({
          nodes: 3,
          dataDir: o.data,
          quorum: defaultQuorum,
          proxyPort,
          gateway: {
            port: webPort,
            host: o.host,
            webRoot: webDist,
            ...(operatorToken === undefined ? {} : { operatorToken }),
          },
          ...(o.metricsPort === 0 ? {} : { metrics: { port: o.metricsPort } }),
          progress: say,
        });
        const stopped = untilSignal();
        await local.start(); // stops what it started if it fails
        const url = `http://${o.host === '0.0.0.0' ? 'localhost' : o.host}:${webPort}/`;
        const terminal = saveLocalCloud(homeDirOf(globalsOf(command)), local.clientEndpoint);
        const operator = operatorToken === undefined ? null : `${url}operator`;
        if (o.json === true)
          process.stdout.write(
            `${JSON.stringify({ ready: true, url, cloud: local.clientEndpoint, terminal, data: o.data, keys: local.keysDir ?? null, metrics: local.metricsEndpoints, operator })}\n`,
          );
        else
          process.stdout.write(
            `\nTrolley is running. Open ${url}\n` +
              `  terminal: ${terminal}\n` +
              `  data:     ${o.data}   (keys in ${local.keysDir ?? '-'}; Ctrl-C stops everything; the next start keeps both)\n` +
              (operator === null
                ? ''
                : `  operator: ${operator}   (the cluster page; sign in with the operator token)\n`) +
              `${metricsLines(local.metricsEndpoints, '  ')}\n`,
          );
        await stopped;
        say('stopping…');
        await local.stop();
      },
    );
}

/** 5555 (the CLI's default cloud) when it and its node port are free, else a free pair. */
async function defaultOrFreeProxyPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = attempt === 0 ? defaultProxyPort : await freePort();
    if ((await portFree(port)) && (await portFree(port + 1))) return port;
  }
  throw new TrolleyError('not_found', 'no two free adjacent ports for the proxy; pass --proxy-port');
}

function portFromEnv(): number | undefined {
  const raw = process.env['PORT'];
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isSafeInteger(port) || port < 1 || port > 65_535)
    throw new TrolleyError(
      'invalid_argument',
      `PORT must be a port number (1–65535), not ${JSON.stringify(raw)}`,
    );
  return port;
}
