// Trust, as a property: an attacker who holds the list's link injects arbitrary decodable deltas
// at random points of three honest devices' histories, through the real coordinator code (three
// StorageNodes on the in-memory network). Whatever it sends:
//   - an honest write answered cloud-ok is readable from the cloud at once (cloud-ok never hides);
//   - every honest change made after the attacks reaches every honest device, as meant;
//   - every replica's stored list still decodes (no list becomes unreadable).
// The attacker may change the list as a person with the link may (remove what exists, rename);
// what it cannot do is hide an honest device's later changes (core crdt/write-check.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ListDoc,
  ListReplica,
  TrolleyError,
  WHOLE_LIST,
  decodeList,
  dot,
  dotCounter,
  dotReplica,
  encodeList,
  forEachItemDot,
  listView,
  merge,
  writerIdOf,
  writerSecretBytes,
  type ListId,
  type Message,
  type ReplicaId,
} from '@trolley/core';
import { chooseSeed, opArb } from '@trolley/core/testing/arbitraries';
import { performOp } from '@trolley/core/testing/subjects';
import type { Op } from '@trolley/core/testing/intent-model';
import { MemoryCluster } from './testing/index.ts';

const seed = chooseSeed(process.env['FC_SEED'], Date.now() % 2 ** 31);
const runs = Number(process.env['FC_RUNS'] ?? 40);

const secretOf = (i: number): Uint8Array => new Uint8Array(writerSecretBytes).fill(i + 1);
const honestSecrets = [0, 1, 2].map(secretOf);
const honestIds = honestSecrets.map(writerIdOf);
const attackerSecret = secretOf(100);
const attackerId = writerIdOf(attackerSecret);

/** What an attacker's delta is made of: names it may use, and shapes of claims and dots. */
interface Attack {
  /** Whose names the dots and claims use: honest writers, the attacker, a legacy name. */
  names: number[];
  /** Context claims: [name index, counter], counters from far below to far beyond what exists. */
  claims: [number, number][];
  /** Content dots: [name index, counter, item key index, field, value]. */
  dots: [number, number, number, number, number][];
  title: [number, number] | undefined;
  removal: [number, number, number] | undefined;
  /** Send with the attacker's own secret, or with none. */
  withSecret: boolean;
}

const keys = ['milk', 'eggs', 'bread', 'tea', 'x'];
const counterArb = fc.oneof(
  fc.integer({ min: 1, max: 30 }),
  fc.integer({ min: 31, max: 1_000_000 }),
  fc.constant(2 ** 32 - 1),
);
const attackArb: fc.Arbitrary<Attack> = fc.record({
  names: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
  claims: fc.array(fc.tuple(fc.nat({ max: 2 }), counterArb), { maxLength: 4 }),
  dots: fc.array(
    fc.tuple(
      fc.nat({ max: 2 }),
      counterArb,
      fc.nat({ max: keys.length - 1 }),
      fc.nat({ max: 2 }),
      fc.integer({ min: 1, max: 9 }),
    ),
    { maxLength: 4 },
  ),
  title: fc.option(fc.tuple(fc.nat({ max: 2 }), counterArb), { nil: undefined }),
  removal: fc.option(fc.tuple(fc.nat({ max: 2 }), counterArb, fc.nat({ max: keys.length })), {
    nil: undefined,
  }),
  withSecret: fc.boolean(),
});

/** 0–2: honest writers; 3: the attacker; 4: a legacy replica ID. */
const nameOf = (i: number): ReplicaId =>
  (i < 3 ? honestIds[i] : i === 3 ? attackerId : 'legacy-device') as ReplicaId;

/** The attacker's delta, or undefined when the choices do not make a decodable one. */
function attackDelta(a: Attack): Uint8Array | undefined {
  const doc = new ListDoc(false);
  const name = (k: number): number => doc.replicas.intern(nameOf(a.names[k % a.names.length] ?? 0));
  for (const [k, c] of a.claims) doc.ctx.add(dot(name(k), c));
  for (const [k, c, key, field, value] of a.dots) {
    const d = dot(name(k), c);
    doc.ctx.add(d);
    const item = doc.mention(keys[key] as string);
    if (field === 0) item.display.set(d, (keys[key] as string).toUpperCase());
    else if (field === 1) item.wanted.set(d, value);
    else item.bought.set(d, value);
  }
  if (a.title !== undefined) {
    const d = dot(name(a.title[0]), a.title[1]);
    doc.ctx.add(d);
    doc.title = new Map([[d, 'Owned']]);
  }
  if (a.removal !== undefined) {
    const d = dot(name(a.removal[0]), a.removal[1]);
    doc.ctx.add(d);
    const key = keys[a.removal[2]];
    if (key === undefined) doc.removals.add(d, WHOLE_LIST);
    else {
      doc.mention(key);
      doc.removals.add(d, key);
    }
  }
  const bytes = encodeList(doc);
  return decodeList(bytes).ok ? bytes : undefined;
}

type Step =
  | { kind: 'op'; device: number; op: Op }
  | { kind: 'pull'; device: number }
  | { kind: 'attack'; via: number; attack: Attack };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('op' as const), device: fc.nat({ max: 2 }), op: opArb }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pull' as const), device: fc.nat({ max: 2 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('attack' as const),
      via: fc.nat({ max: 2 }),
      attack: attackArb,
    }),
  },
);

class World {
  readonly c = new MemoryCluster();
  readonly listId: ListId = this.c.newListId();
  readonly devices = honestIds.map((id) => new ListReplica(id));
  attacksSent = 0;
  attacksRefused = 0;
  honestRefusals = 0;

  private async request(send: () => number): Promise<Message> {
    const requestId = send();
    await this.c.settle();
    const reply = this.c.reply(requestId);
    if (reply === undefined) throw new Error('no reply');
    return reply;
  }

  /** An honest device's write: cloud-ok, after at most one pull (a coordinator may lag). */
  async write(device: number, delta: ListDoc): Promise<void> {
    const opId = this.c.opId();
    const via = this.c.ids[device] as never;
    const send = (): Promise<Message> =>
      this.request(() =>
        this.c.put(via, this.listId, delta, { opId, writer: honestSecrets[device] as Uint8Array }),
      );
    let reply = await send();
    if (reply.type === 'error' && reply.code === 'refused') {
      this.honestRefusals++;
      await this.pull(device);
      reply = await send();
    }
    expect(reply, `honest write of device ${device}`).toMatchObject({ type: 'put-reply', outcome: 'ok' });
    // Cloud-ok means readable: a fresh read holds every dot the write carried.
    const cloud = await this.read(device);
    forEachContentDot(delta, (d, name) => {
      const there = cloud.replicas.lookup(name);
      expect(there !== undefined && hasContentDot(cloud, dot(there, dotCounter(d))), `${name} dot`).toBe(
        true,
      );
    });
  }

  async read(via: number): Promise<ListDoc> {
    const reply = await this.request(() => this.c.get(this.c.ids[via] as never, this.listId));
    if (reply.type !== 'get-reply') throw new Error(`get answered ${reply.type}`);
    const doc = decodeList(reply.delta);
    if (!doc.ok) throw doc.error;
    return doc.value;
  }

  async pull(device: number): Promise<void> {
    (this.devices[device] as ListReplica).apply(await this.read(device));
  }

  async attack(via: number, a: Attack): Promise<void> {
    const bytes = attackDelta(a);
    if (bytes === undefined) return;
    const delta = decodeList(bytes);
    if (!delta.ok) return;
    this.attacksSent++;
    const reply = await this.request(() =>
      this.c.put(
        this.c.ids[via] as never,
        this.listId,
        delta.value,
        a.withSecret ? { writer: attackerSecret } : {},
      ),
    );
    if (reply.type === 'error') this.attacksRefused++;
  }

  /** Every replica's stored list decodes. */
  checkReadable(): void {
    for (let i = 0; i < this.c.nodes.length; i++) expect(() => this.c.stored(i, this.listId)).not.toThrow();
  }
}

/** Every content dot of a doc (item fields, title, flag), with its replica's name. */
function forEachContentDot(doc: ListDoc, f: (d: number, name: string) => void): void {
  const visit = (d: number): void => f(d, doc.replicas.name(dotReplica(d)));
  for (const item of doc.items.values()) forEachItemDot(item, visit);
  for (const d of doc.title?.keys() ?? []) visit(d);
  for (const d of doc.deleted?.keys() ?? []) visit(d);
}

function hasContentDot(doc: ListDoc, d: number): boolean {
  let found = false;
  forEachContentDot(doc, (x) => (found ||= x === d));
  return found;
}

describe('trust: an attacker with the link cannot hide honest changes or break the list', () => {
  it('arbitrary attacker deltas among three honest histories: cloud-ok stays readable, later changes reach everyone', async () => {
    let totals = { runs: 0, attacks: 0, refused: 0, honestRefusals: 0, honestWrites: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 30 }), async (steps) => {
        const w = new World();
        let honestWrites = 0;
        await w.write(0, (w.devices[0] as ListReplica).rename('Shared'));
        for (const step of steps) {
          if (step.kind === 'attack') await w.attack(step.via, step.attack);
          else if (step.kind === 'pull') await w.pull(step.device);
          else {
            let delta: ListDoc;
            try {
              delta = performOp(w.devices[step.device] as ListReplica, step.op);
            } catch (error) {
              if (error instanceof TrolleyError && error.code === 'not_found') continue;
              throw error;
            }
            await w.write(step.device, delta);
            honestWrites++;
          }
          w.checkReadable();
        }
        // After the attacks: each device pulls, adds an item of its own, and every device sees all three.
        for (let i = 0; i < 3; i++) await w.pull(i);
        for (let i = 0; i < 3; i++)
          await w.write(i, (w.devices[i] as ListReplica).addItem(`Final ${i}`, i + 1));
        for (let i = 0; i < 3; i++) await w.pull(i);
        for (const device of w.devices) {
          const view = listView(device.state);
          for (let i = 0; i < 3; i++)
            expect(view.items.find((x) => x.key === `final ${i}`)?.wanted, `final ${i}`).toBe(i + 1);
        }
        // And they agree with each other and with the cloud.
        const cloud = await w.read(0);
        const merged = ListDoc.empty();
        merge(merged, cloud);
        for (const device of w.devices) expect(listView(device.state)).toEqual(listView(merged));
        w.checkReadable();
        totals = {
          runs: totals.runs + 1,
          attacks: totals.attacks + w.attacksSent,
          refused: totals.refused + w.attacksRefused,
          honestRefusals: totals.honestRefusals + w.honestRefusals,
          honestWrites: totals.honestWrites + honestWrites + 4,
        };
      }),
      { seed, numRuns: runs },
    );
    console.log(
      `trust property (seed ${seed}, FC_SEED to replay): ${totals.runs} histories, ${totals.honestWrites} honest writes all cloud-ok and readable at once; ` +
        `${totals.attacks} attacker deltas, ${totals.refused} refused; honest writes refused then taken after a pull: ${totals.honestRefusals}; ` +
        `every honest change after the attacks reached all 3 devices; every stored list decodes`,
    );
    expect(totals.attacks).toBeGreaterThan(0);
  });
});
