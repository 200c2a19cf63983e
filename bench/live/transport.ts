// What one hop costs on this machine (`npm run live:transport -w bench`): the round trip of a
// 200-byte message between this process and an echo server in another process, over ZeroMQ
// (DEALER → ROUTER, as Trolley's clients reach a proxy or a front; plain and with CURVE) and over
// a WebSocket (`ws`, as y-websocket's clients reach their server), TRANSPORT_ROUNDS (default
// 3,000) times each, one message at a time, the three in turn round by round so that they meet
// the same moments of a shared machine. A live update is two such hops (client → server →
// client) for both Trolley at a list's front and Yjs, so the ratio here is the floor of
// bench:live's ratio that the transport alone sets. One JSON line at the end.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import WebSocket, { WebSocketServer } from 'ws';
import { newKeyPair, z85 } from '@trolley/node';
import { envNumber, percentile, table } from '../common.ts';
import { freePort } from '../../apps/cli/src/local-cluster.ts';

const ROUNDS = Math.max(1, Math.round(envNumber('TRANSPORT_ROUNDS', 3_000)));
const payload = Buffer.alloc(200, 7);

/** The echo server, in a child process: argv = serve, kind, port[, public key, secret key]. */
async function serve(kind: string, port: number, publicKey?: string, secretKey?: string): Promise<void> {
  if (kind === 'ws') {
    const server = new WebSocketServer({ port, host: '127.0.0.1' });
    server.on('connection', (c) => c.on('message', (m: Buffer) => c.send(m)));
    server.on('listening', () => process.send?.('ready'));
    return;
  }
  const router = new zmq.Router({
    linger: 0,
    sendTimeout: 0,
    ...(publicKey === undefined || secretKey === undefined
      ? {}
      : { curveServer: true, curvePublicKey: publicKey, curveSecretKey: secretKey }),
  });
  await router.bind(`tcp://127.0.0.1:${port}`);
  process.send?.('ready');
  for await (const [id, m] of router) await router.send([id as Buffer, m as Buffer]);
}

interface Pinger {
  name: string;
  ping(): Promise<void>;
  close(): void;
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const children: ReturnType<typeof fork>[] = [];
  const start = async (args: string[]): Promise<void> => {
    const child = fork(self, ['serve', ...args], { execArgv: ['--import', 'tsx'] });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`echo server ${args[0]} exited (${code})`)));
    });
  };
  const pingers: Pinger[] = [];
  try {
    const zmqPlain = await freePort();
    await start(['zmq', String(zmqPlain)]);
    const server = newKeyPair();
    const zmqCurve = await freePort();
    await start(['zmq', String(zmqCurve), z85(server.publicKey), z85(server.secretKey)]);
    const wsPort = await freePort();
    await start(['ws', String(wsPort)]);

    const dealerPinger = (name: string, port: number, curve: boolean): Pinger => {
      const client = newKeyPair();
      const d = new zmq.Dealer({
        linger: 0,
        ...(curve
          ? {
              curveServerKey: z85(server.publicKey),
              curvePublicKey: z85(client.publicKey),
              curveSecretKey: z85(client.secretKey),
            }
          : {}),
      });
      d.connect(`tcp://127.0.0.1:${port}`);
      return {
        name,
        ping: async () => {
          await d.send(payload);
          await d.receive();
        },
        close: () => d.close(),
      };
    };
    pingers.push(dealerPinger('zeromq', zmqPlain, false), dealerPinger('zeromq + CURVE', zmqCurve, true));
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}`);
    await new Promise((resolve) => ws.once('open', resolve));
    let answered: (() => void) | undefined;
    ws.on('message', () => answered?.());
    pingers.push({
      name: 'WebSocket (ws)',
      ping: () =>
        new Promise<void>((resolve) => {
          answered = resolve;
          ws.send(payload);
        }),
      close: () => ws.close(),
    });
    for (const p of pingers) for (let i = 0; i < 50; i++) await p.ping(); // connect and warm up
    const times = pingers.map(() => [] as number[]);
    for (let i = 0; i < ROUNDS; i++)
      for (const [j, p] of pingers.entries()) {
        const t = performance.now();
        await p.ping();
        (times[j] as number[]).push(performance.now() - t);
      }
    const stat = (xs: number[]): { p50: number; p99: number } => {
      const s = Float64Array.from(xs).sort();
      return { p50: percentile(s, 0.5), p99: percentile(s, 0.99) };
    };
    const stats = times.map(stat);
    const ws50 = (stats[2] as { p50: number }).p50;
    process.stdout.write(
      table(
        ['round trip, 200 B', 'p50 ms', 'p99 ms', 'p50 ÷ WebSocket'],
        pingers.map((p, j) => {
          const s = stats[j] as { p50: number; p99: number };
          return [p.name, s.p50.toFixed(3), s.p99.toFixed(3), (s.p50 / ws50).toFixed(2)];
        }),
      ) + '\n',
    );
    const r = (x: number): number => Math.round(x * 1000) / 1000;
    process.stdout.write(
      JSON.stringify({
        bench: 'live-transport',
        rounds: ROUNDS,
        p50Ms: Object.fromEntries(pingers.map((p, j) => [p.name, r((stats[j] as { p50: number }).p50)])),
        p99Ms: Object.fromEntries(pingers.map((p, j) => [p.name, r((stats[j] as { p99: number }).p99)])),
      }) + '\n',
    );
  } finally {
    for (const p of pingers) p.close();
    for (const c of children) c.kill();
  }
}

if (process.argv[2] === 'serve') {
  const [, , , kind, port, pub, sec] = process.argv;
  serve(kind ?? '', Number(port), pub, sec).catch((e: unknown) => {
    process.stderr.write(`[live:transport] echo server: ${String(e)}\n`);
    process.exit(1);
  });
} else {
  main()
    .then(() => process.exit(0))
    .catch((e: unknown) => {
      process.stderr.write(`[live:transport] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    });
}
