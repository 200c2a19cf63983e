// A canonical text form of a ListDoc — replica names instead of table indices, everything
// sorted — so that two docs built in different orders on different replicas compare equal
// exactly when they hold the same state.

import { dotCounter, dotReplica, type Dot } from '../crdt/dots.ts';
import { itemFields, type ListDoc } from '../crdt/list-doc.ts';
import { compareKeys } from '../crdt/read-model.ts';

export function canonical(doc: ListDoc): string {
  const name = (d: Dot): string => `${doc.replicas.name(dotReplica(d))}:${dotCounter(d)}`;
  const dotFun = (m: ReadonlyMap<Dot, unknown> | undefined): unknown =>
    m === undefined
      ? null
      : [...m].map(([d, v]) => [name(d), v]).sort((a, b) => compareKeys(String(a[0]), String(b[0])));
  const vector = (vv: readonly number[]): unknown =>
    vv
      .map((c, r) => [doc.replicas.name(r), c ?? 0] as const)
      .filter(([, c]) => c > 0)
      .sort((a, b) => compareKeys(a[0], b[0]));
  const items = [...doc.items]
    .sort((a, b) => compareKeys(a[0], b[0]))
    .map(([key, item]) => [key, ...itemFields.map((f) => dotFun(item[f]))]);
  return JSON.stringify({
    full: doc.full,
    vv: vector(doc.ctx.vv),
    cloud: [...doc.ctx.cloud].map(name).sort(compareKeys),
    title: dotFun(doc.title),
    deleted: dotFun(doc.deleted),
    items,
    removals: dotFun(doc.removals.records),
    horizon: vector(doc.removals.horizon),
    journal: dotFun(doc.journal.entries),
  });
}
