// The live benchmark's server process: `node --import tsx server-process.ts <system>`, started
// by run.ts with an IPC channel. It starts the system's server and reports the endpoint and the
// other processes the server consists of (their CPU and memory are measured by the driver from
// /proc, with this process's). It stops the server on "stop", on SIGINT/SIGTERM, and when the
// driver goes away.

import { isSystemName, loadSystem } from './systems/load.ts';
import type { FromServer, ToServer } from './protocol.ts';
import type { LiveServer } from './systems/types.ts';

const send = (msg: FromServer): Promise<void> =>
  new Promise((resolve) => {
    if (process.send === undefined) return resolve();
    process.send(msg, () => resolve());
  });

let server: LiveServer | undefined;
let stopping: Promise<void> | undefined;

function stop(code: number): Promise<void> {
  stopping ??= (async () => {
    const force = setTimeout(() => process.exit(code), 10_000);
    force.unref();
    try {
      await server?.close();
    } catch (e) {
      process.stderr.write(`[live server] close failed: ${String(e)}\n`);
    }
    process.exit(code);
  })();
  return stopping;
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  if (!isSystemName(name)) throw new Error(`unknown system ${JSON.stringify(name)}`);
  const system = await loadSystem(name);
  server = await system.startServer();
  process.on('message', (msg: ToServer) => {
    if (msg.type === 'stop') void stop(0);
  });
  await send({
    type: 'listening',
    endpoint: server.endpoint,
    description: system.describe(),
    pids: [...(server.pids ?? [])],
  });
}

process.on('disconnect', () => void stop(1));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(1));

main().catch((e: unknown) => {
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`[live server] ${message}\n`);
  void send({ type: 'error', message }).finally(() => stop(1));
});
