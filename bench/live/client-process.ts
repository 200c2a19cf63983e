// A live benchmark client process: `node --import tsx client-process.ts '<ClientProcessConfig JSON>'`,
// started by run.ts with an IPC channel. It runs `perProcess` clients of one system, each with its
// own connection to the server, and:
// - on "start" (a shared start time), makes each client's seeded changes on a fixed schedule
//   (client c's k-th change at start + c·interval/clients + k·interval, so the 16 clients are
//   spread over each interval), each with a marker client:seq and the time it was made;
// - records, per receiving client, when each other client's change was first seen;
// - answers "progress" (sightings so far), "views" (each client's list, canonical) and "finish"
//   (everything recorded), then disconnects its clients and exits.
// It exits by itself when the driver goes away.

import { Rng, type ItemState } from '../crdt/stream.ts';
import { canonical, clientSeed, nextOp } from './workload.ts';
import { isSystemName, loadSystem } from './systems/load.ts';
import { nowMs, type LiveClient, type Model, type Sighting } from './systems/types.ts';
import type { ClientProcessConfig, ClientResult, FromClients, ToClients } from './protocol.ts';

const send = (msg: FromClients): Promise<void> =>
  new Promise((resolve) => {
    if (process.send === undefined) return resolve();
    process.send(msg, () => resolve());
  });

const sleepUntil = (at: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, at - nowMs())));

class ClientRun {
  readonly rng: Rng;
  readonly sent: Float64Array;
  /** seen[sender]: when each of its changes was first seen (NaN: not yet). */
  readonly seen: Float64Array[];
  /** lastSeq[sender]: the highest change seen (changes are seen in order per sender). */
  readonly lastSeq: Int32Array;
  readonly tickLagMs: number[] = [];
  seenCount = 0;
  implied = 0;
  strayMarkers = 0;
  client: LiveClient | undefined;

  constructor(
    readonly id: number,
    private readonly config: ClientProcessConfig,
  ) {
    this.rng = new Rng(clientSeed(config.seed, id));
    this.sent = new Float64Array(config.changes).fill(NaN);
    this.seen = Array.from({ length: config.clients }, () => new Float64Array(config.changes).fill(NaN));
    this.lastSeq = new Int32Array(config.clients);
  }

  onRemote(markers: readonly Sighting[]): void {
    const t = nowMs();
    for (const m of markers) {
      if (m.client === this.id) continue;
      const seen = this.seen[m.client];
      if (seen === undefined || !Number.isInteger(m.seq) || m.seq < 1 || m.seq > this.config.changes) {
        this.strayMarkers++;
        continue;
      }
      const last = this.lastSeq[m.client] ?? 0;
      if (m.seq <= last) continue;
      for (let s = last + 1; s <= m.seq; s++) seen[s - 1] = t;
      this.implied += m.seq - last - 1;
      this.seenCount += m.seq - last;
      this.lastSeq[m.client] = m.seq;
    }
  }

  /** Makes this client's changes on schedule from `at`. */
  async drive(at: number): Promise<void> {
    const client = this.client;
    if (client === undefined) throw new Error('client not connected');
    const { changes, intervalMs, clients } = this.config;
    const offset = (this.id * intervalMs) / clients;
    for (let k = 0; k < changes; k++) {
      const due = at + offset + k * intervalMs;
      await sleepUntil(due);
      const op = nextOp(this.rng, client.view());
      const sentAt = nowMs();
      this.tickLagMs.push(sentAt - due);
      this.sent[k] = sentAt;
      await client.apply(op, { client: this.id, seq: k + 1, sentAt });
    }
  }

  result(): ClientResult {
    const orNull = (xs: Float64Array): (number | null)[] =>
      Array.from(xs, (x) => (Number.isNaN(x) ? null : x));
    return {
      client: this.id,
      sent: orNull(this.sent),
      seen: this.seen.map(orNull),
      implied: this.implied,
      tickLagMs: this.tickLagMs,
      strayMarkers: this.strayMarkers,
    };
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as ClientProcessConfig;
  if (!isSystemName(config.system)) throw new Error(`unknown system ${JSON.stringify(config.system)}`);
  const system = await loadSystem(config.system);
  const runs: ClientRun[] = [];
  for (let i = 0; i < config.perProcess; i++) {
    const run = new ClientRun(config.index * config.perProcess + i, config);
    run.client = await system.createClient({
      endpoint: config.endpoint,
      client: run.id,
      clients: config.clients,
      seed: clientSeed(config.seed ^ 0x1d5, run.id),
      onRemote: (markers) => run.onRemote(markers),
    });
    runs.push(run);
  }

  let cpuMark = process.cpuUsage();
  let wallMark = nowMs();
  let finishing = false;
  process.on('message', (msg: ToClients) => {
    switch (msg.type) {
      case 'clock':
        void send({ type: 'clock', t0: msg.t0, t: nowMs() });
        return;
      case 'start':
        cpuMark = process.cpuUsage();
        wallMark = nowMs();
        Promise.all(runs.map((r) => r.drive(msg.at))).then(
          () => {
            const cpu = process.cpuUsage(cpuMark);
            return send({ type: 'sent', cpuUs: cpu.user + cpu.system, wallMs: nowMs() - wallMark });
          },
          (e: unknown) => fail(e),
        );
        return;
      case 'progress':
        void send({ type: 'progress', seen: runs.reduce((sum, r) => sum + r.seenCount, 0) });
        return;
      case 'views':
        void send({
          type: 'views',
          views: runs.map((r) => {
            const view: Model = r.client?.view() ?? new Map<string, ItemState>();
            const digest = r.client?.stateDigest?.() ?? null;
            return { client: r.id, canonical: canonical(view), items: view.size, digest };
          }),
        });
        return;
      case 'finish': {
        if (finishing) return;
        finishing = true;
        const cpu = process.cpuUsage(cpuMark);
        void send({
          type: 'result',
          clients: runs.map((r) => r.result()),
          cpuUs: cpu.user + cpu.system,
          wallMs: nowMs() - wallMark,
        }).then(async () => {
          await Promise.race([
            Promise.allSettled(runs.map((r) => r.client?.close() ?? Promise.resolve())),
            new Promise((resolve) => setTimeout(resolve, 5_000)),
          ]);
          process.exit(0);
        });
        return;
      }
    }
  });
  await send({ type: 'ready' });
}

function fail(e: unknown): void {
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`[live client] ${message}\n`);
  void send({ type: 'error', message }).finally(() => process.exit(1));
}

process.on('disconnect', () => process.exit(1));
main().catch(fail);
