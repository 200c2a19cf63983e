// Multi-replica histories for property tests: replicas perform operations, ship the resulting
// messages through a network that drops, duplicates and reorders, and run anti-entropy; after
// every step each replica is compared with the intent model of the operations it has seen.
// The harness is generic over the implementation, so the same histories can show that a
// last-writer-wins list fails the very checks our CRDT passes.

import { TrolleyError } from '../errors.ts';
import {
  effectOf,
  intentViolations,
  specView,
  type Effect,
  type Op,
  type PlainView,
} from './intent-model.ts';

export interface Subject<M> {
  /** Performs an operation locally; returns the message to broadcast. Throws not_found like the model. */
  perform(op: Op): M;
  receive(message: M): void;
  /** The anti-entropy message that brings `peer` up to date with this replica. */
  syncTo(peer: Subject<M>): M;
  view(): PlainView;
}

export interface Implementation<M> {
  readonly name: string;
  replica(index: number): Subject<M>;
}

export type Step =
  | { kind: 'op'; at: number; op: Op }
  | { kind: 'deliver'; to: number; pick: number }
  | { kind: 'drop'; to: number; pick: number }
  | { kind: 'duplicate'; to: number; pick: number }
  | { kind: 'sync'; from: number; to: number };

interface Envelope<M> {
  message: M;
  /** The operations the receiver has seen once it has joined this message. */
  ops: ReadonlySet<number>;
}

export interface HistoryReport {
  steps: number;
  operations: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  syncs: number;
  /** First mismatch between a replica and the intent model, with the step it happened at. */
  mismatch: string | undefined;
  /** Intent violations found (named: lost add, resurrection, counter, …). */
  violations: string[];
  /** After the final flush: did every replica end with the same view, equal to the model? */
  converged: boolean;
}

export function runHistory<M>(
  impl: Implementation<M>,
  replicaCount: number,
  steps: readonly Step[],
  options: { flush: boolean } = { flush: true },
): HistoryReport {
  const replicas = Array.from({ length: replicaCount }, (_, i) => impl.replica(i));
  const seen = replicas.map(() => new Map<number, Effect>());
  const effects = new Map<number, Effect>();
  const inbox = replicas.map((): Envelope<M>[] => []);
  const report: HistoryReport = {
    steps: 0,
    operations: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    syncs: 0,
    mismatch: undefined,
    violations: [],
    converged: false,
  };
  const learn = (i: number, ops: ReadonlySet<number>): void => {
    for (const id of ops) seen[i]?.set(id, effects.get(id) as Effect);
  };
  const check = (i: number, where: string): void => {
    if (report.mismatch !== undefined) return;
    const view = (replicas[i] as Subject<M>).view();
    const expected = specView((seen[i] as Map<number, Effect>).values());
    if (JSON.stringify(view) !== JSON.stringify(expected)) {
      report.violations = intentViolations(view, (seen[i] as Map<number, Effect>).values());
      report.mismatch = `${impl.name}, replica ${i}, ${where}:\n  got  ${JSON.stringify(view)}\n  want ${JSON.stringify(expected)}`;
    }
  };
  const sync = (from: number, to: number): void => {
    const message = (replicas[from] as Subject<M>).syncTo(replicas[to] as Subject<M>);
    (replicas[to] as Subject<M>).receive(message);
    learn(to, new Set((seen[from] as Map<number, Effect>).keys()));
    report.syncs++;
  };

  steps.forEach((step, n) => {
    report.steps++;
    const where = `after step ${n} ${JSON.stringify(step)}`;
    switch (step.kind) {
      case 'op': {
        const at = step.at % replicaCount;
        const id = effects.size;
        let effect: Effect | undefined;
        let expectedError: string | undefined;
        try {
          effect = effectOf(id, step.op, seen[at] as Map<number, Effect>);
        } catch (e) {
          if (!(e instanceof TrolleyError)) throw e;
          expectedError = e.code;
        }
        let message: M | undefined;
        let gotError: string | undefined;
        try {
          message = (replicas[at] as Subject<M>).perform(step.op);
        } catch (e) {
          if (!(e instanceof TrolleyError)) throw e;
          gotError = e.code;
        }
        if (gotError !== expectedError && report.mismatch === undefined) {
          report.mismatch = `${impl.name}, replica ${at}, ${where}: error ${gotError ?? 'none'}, model says ${expectedError ?? 'none'}`;
        }
        if (effect === undefined || message === undefined) break;
        report.operations++;
        effects.set(id, effect);
        (seen[at] as Map<number, Effect>).set(id, effect);
        inbox.forEach((box, j) => {
          if (j !== at) box.push({ message, ops: new Set([id]) });
        });
        check(at, where);
        break;
      }
      case 'deliver':
      case 'drop':
      case 'duplicate': {
        const to = step.to % replicaCount;
        const box = inbox[to] as Envelope<M>[];
        if (box.length === 0) break;
        const k = step.pick % box.length;
        const env = box[k] as Envelope<M>;
        if (step.kind === 'duplicate') {
          box.push(env);
          report.duplicated++;
          break;
        }
        box.splice(k, 1);
        if (step.kind === 'drop') {
          report.dropped++;
          break;
        }
        (replicas[to] as Subject<M>).receive(env.message);
        learn(to, env.ops);
        report.delivered++;
        check(to, where);
        break;
      }
      case 'sync': {
        const from = step.from % replicaCount;
        const to = step.to % replicaCount;
        if (from === to) break;
        sync(from, to);
        check(to, where);
        break;
      }
    }
  });

  if (options.flush) {
    // Anti-entropy flush: everyone to replica 0, then replica 0 to everyone.
    for (let i = 1; i < replicaCount; i++) sync(i, 0);
    for (let i = 1; i < replicaCount; i++) sync(0, i);
    // Late deliveries of old messages must change nothing.
    inbox.forEach((box, to) => {
      for (const env of box) (replicas[to] as Subject<M>).receive(env.message);
    });
    const expected = JSON.stringify(specView(effects.values()));
    report.converged = replicas.every((r) => JSON.stringify(r.view()) === expected);
    if (!report.converged && report.mismatch === undefined) {
      const bad = replicas.findIndex((r) => JSON.stringify(r.view()) !== expected);
      report.violations = intentViolations((replicas[bad] as Subject<M>).view(), effects.values());
      report.mismatch = `${impl.name}: replica ${bad} after the flush:\n  got  ${JSON.stringify((replicas[bad] as Subject<M>).view())}\n  want ${expected}`;
    }
  }
  return report;
}
