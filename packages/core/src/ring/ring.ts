// The ring: which physical node owns each of Q fixed, equal partitions. Dynamo §6.2, strategy 3
// ("Q/S tokens per node, equal-sized partitions"), with capacity weights as in §4.2 (virtual
// nodes let a bigger machine take more of the ring).
//
// Assignment is a pure function of its inputs, so every node and proxy that holds the same node
// list and previous ring computes the same ring:
//
// 1. Quotas. Node i gets floor(Q·wᵢ/W) or that plus one (largest remainder), so no node holds
//    more than ⌈its exact share⌉: max/mean ≤ 1 + 1/quota. Among equally valid quotas, the +1s go
//    first to nodes that already hold more than the floor (so they need not give one up), then by
//    largest remainder, then by ID. Every node gets at least one partition (Q ≥ S).
// 2. Release. Partitions of nodes no longer in the list are freed; a node over its new quota
//    frees exactly its surplus, evenly spaced through its own partitions, preferring within each
//    stride one that breaks a run of its own and is not next to a partition already freed (a
//    joining node would get the two as a run). Nothing else moves, so the number of partitions
//    that change owner is the least any assignment with these quotas can reach:
//    Σ max(0, heldᵢ − quotaᵢ) plus the removed nodes' partitions.
// 3. Claim. Nodes under quota take the free partitions, walked clockwise, in an interleaved
//    order: a node with deficit d has one claim in each 1/d of the walk, at a point jittered by a
//    hash of its ID; a claim that would put a node next to one of its own partitions swaps with
//    one of the next few claims by another node. Each node's partitions are spread around the
//    ring, and the nodes that follow a node clockwise (its replicas, §4.3) vary from partition to
//    partition, so a failed node's load spreads over many others rather than one neighbour.
//
// createRing is the same process from an empty ring.

import { assert, TrolleyError } from '../errors.ts';
import { compareNodeIds, isNodeId, type NodeId } from './node-id.ts';
import { checkPartitionCount } from './position.ts';
import { ringLimits } from './ring-limits.ts';

/** A physical node and its capacity weight, an integer in 1..ringLimits.weightMax. */
export interface RingNode {
  readonly id: NodeId;
  readonly weight: number;
}

export interface RingState {
  /** Starts at 1 and grows by one with every rebalance; gossip keeps the highest. */
  readonly version: number;
  /** Q: the number of equal partitions the ring is cut into. Fixed for the life of a cluster. */
  readonly partitionCount: number;
  /** Every node in the ring, sorted by ID (code-unit order), IDs unique. */
  readonly nodes: readonly RingNode[];
  /** Length Q: the owner (coordinator, first of the preference list) of each partition. */
  readonly owners: readonly NodeId[];
}

export interface RingOptions {
  /** Q, in ringLimits.partitionCountMin..partitionCountMax; default ringLimits.partitionCountDefault. */
  partitionCount?: number;
}

/** A partition whose owner differs between two rings: the work of one transfer. */
export interface OwnerChange {
  readonly partition: number;
  readonly from: NodeId;
  readonly to: NodeId;
}

/** A new ring, version 1, with the nodes' partitions interleaved around it. */
export function createRing(nodes: readonly RingNode[], options: RingOptions = {}): RingState {
  const partitionCount = options.partitionCount ?? ringLimits.partitionCountDefault;
  checkPartitionCount(partitionCount);
  const sorted = checkNodes(nodes, partitionCount);
  const owners = assign(new Array<NodeId | undefined>(partitionCount).fill(undefined), sorted);
  return { version: 1, partitionCount, nodes: sorted, owners };
}

/**
 * The ring for a new node list (nodes added, removed or reweighted), one version later. Only the
 * partitions of removed nodes and the surplus of nodes over their new quota change owner.
 */
export function rebalance(ring: RingState, nodes: readonly RingNode[]): RingState {
  const problem = ringProblem(ring);
  if (problem !== undefined) throw new TrolleyError('invalid_argument', `not a valid ring: ${problem}`);
  if (ring.version >= Number.MAX_SAFE_INTEGER)
    throw new TrolleyError('limit_exceeded', `ring version ${ring.version} cannot grow`);
  const sorted = checkNodes(nodes, ring.partitionCount);
  const kept = new Set(sorted.map((n) => n.id));
  const owners = ring.owners.map((owner) => (kept.has(owner) ? owner : undefined));
  return {
    version: ring.version + 1,
    partitionCount: ring.partitionCount,
    nodes: sorted,
    owners: assign(owners, sorted),
  };
}

/** The partitions that change owner from one ring to the next, in partition order. */
export function ownerChanges(before: RingState, after: RingState): OwnerChange[] {
  if (before.partitionCount !== after.partitionCount)
    throw new TrolleyError(
      'invalid_argument',
      `rings of ${before.partitionCount} and ${after.partitionCount} partitions cannot be compared`,
    );
  const changes: OwnerChange[] = [];
  for (let p = 0; p < after.partitionCount; p++) {
    const from = before.owners[p];
    const to = after.owners[p];
    assert(from !== undefined && to !== undefined, 'a ring has an owner for every partition');
    if (from !== to) changes.push({ partition: p, from, to });
  }
  return changes;
}

/**
 * Why a value is not a valid ring, or undefined if it is one. Checks structure only (sorted unique
 * valid nodes, an owner from the node table for every partition), not balance: a ring made by
 * another build may balance differently and is still a ring.
 */
export function ringProblem(ring: RingState): string | undefined {
  if (!Number.isSafeInteger(ring.version) || ring.version < 0) return `version ${ring.version}`;
  const q = ring.partitionCount;
  if (!Number.isInteger(q) || q < ringLimits.partitionCountMin || q > ringLimits.partitionCountMax)
    return `partition count ${q}`;
  const nodeProblem = nodesProblem(ring.nodes, q);
  if (nodeProblem !== undefined) return nodeProblem;
  for (let i = 1; i < ring.nodes.length; i++)
    if (compareNodeIds((ring.nodes[i - 1] as RingNode).id, (ring.nodes[i] as RingNode).id) >= 0)
      return 'nodes are not sorted by ID';
  if (ring.owners.length !== q) return `${ring.owners.length} owners for ${q} partitions`;
  const ids = new Set<string>(ring.nodes.map((n) => n.id));
  for (let p = 0; p < q; p++)
    if (!ids.has(ring.owners[p] as string)) return `partition ${p} is owned by an unknown node`;
  return undefined;
}

// ---- validation --------------------------------------------------------------------------------

function nodesProblem(nodes: readonly RingNode[], partitionCount: number): string | undefined {
  if (nodes.length < 1) return 'a ring needs at least one node';
  if (nodes.length > ringLimits.nodesMax) return `${nodes.length} nodes; the limit is ${ringLimits.nodesMax}`;
  if (nodes.length > partitionCount)
    return `${nodes.length} nodes cannot each own one of ${partitionCount} partitions`;
  const seen = new Set<string>();
  for (const node of nodes) {
    if (typeof node.id !== 'string' || !isNodeId(node.id)) return `not a node ID: ${JSON.stringify(node.id)}`;
    if (seen.has(node.id)) return `node ${node.id} appears twice`;
    seen.add(node.id);
    if (!Number.isInteger(node.weight) || node.weight < 1 || node.weight > ringLimits.weightMax)
      return `node ${node.id} has weight ${node.weight}; weights are integers in 1..${ringLimits.weightMax}`;
  }
  return undefined;
}

/** Valid nodes, copied and sorted by ID; throws TrolleyError('invalid_argument') otherwise. */
function checkNodes(nodes: readonly RingNode[], partitionCount: number): RingNode[] {
  const problem = nodesProblem(nodes, partitionCount);
  if (problem !== undefined) throw new TrolleyError('invalid_argument', problem);
  return nodes.map((n) => ({ id: n.id, weight: n.weight })).sort((a, b) => compareNodeIds(a.id, b.id));
}

// ---- assignment --------------------------------------------------------------------------------

/** How far ahead a claim may be swapped to keep a node off a partition next to its own. */
const SWAP_WINDOW = 8;

/** Fills the unowned partitions (undefined) after releasing surpluses; see the file comment. */
function assign(owners: (NodeId | undefined)[], nodes: readonly RingNode[]): NodeId[] {
  const index = new Map<NodeId, number>(nodes.map((n, i) => [n.id, i]));
  const held: number[][] = nodes.map(() => []);
  for (let p = 0; p < owners.length; p++) {
    const owner = owners[p];
    if (owner === undefined) continue;
    const i = index.get(owner);
    assert(i !== undefined, 'only partitions of listed nodes are kept');
    (held[i] as number[]).push(p);
  }
  const counts = held.map((h) => h.length);
  const quotas = partitionQuotas(
    nodes.map((n) => n.weight),
    owners.length,
    counts,
  );

  const deficits = nodes.map((node, i) => {
    const surplus = (counts[i] as number) - (quotas[i] as number);
    if (surplus > 0) release(owners, held[i] as number[], surplus, idHash(node.id));
    return Math.max(0, -surplus);
  });

  const free: number[] = [];
  for (let p = 0; p < owners.length; p++) if (owners[p] === undefined) free.push(p);
  const claims = interleave(nodes, deficits);
  assert(claims.length === free.length, 'the deficits add up to the free partitions');
  const q = owners.length;
  for (const [t, p] of free.entries()) {
    // Avoid handing a node the neighbour of a partition it owns: swap in the nearest later claim
    // by another node, if one is close. Counts stay exact; runs of one owner stay short.
    const before = owners[(p + q - 1) % q];
    const after = owners[(p + 1) % q];
    const clashes = (t2: number): boolean => {
      const id = (nodes[claims[t2] as number] as RingNode).id;
      return id === before || id === after;
    };
    if (clashes(t))
      for (let t2 = t + 1; t2 < Math.min(claims.length, t + SWAP_WINDOW); t2++)
        if (!clashes(t2)) {
          [claims[t], claims[t2]] = [claims[t2] as number, claims[t] as number];
          break;
        }
    owners[p] = (nodes[claims[t] as number] as RingNode).id;
  }

  const result = owners.filter((o): o is NodeId => o !== undefined);
  assert(result.length === owners.length, 'every partition has an owner');
  return result;
}

/**
 * Largest-remainder quotas summing to Q, each ⌊Q·wᵢ/W⌋ or one more, at least 1. `held` breaks the
 * choice of who gets the +1s in favour of nodes that would otherwise give a partition up.
 */
function partitionQuotas(
  weights: readonly number[],
  partitionCount: number,
  held: readonly number[],
): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  // All integers below 2^53 (ring-limits.ts), so % and the division are exact.
  const remainders = weights.map((w) => (partitionCount * w) % total);
  const quotas = weights.map((w, i) => (partitionCount * w - (remainders[i] as number)) / total);
  const leftover = partitionCount - quotas.reduce((a, b) => a + b, 0);
  assert(leftover >= 0 && leftover < weights.length, 'largest remainder leaves < S partitions');
  // Only a node with a remainder may round up (else it would pass its share); there are enough,
  // since the remainders add up to leftover · W and each is under W.
  const order = weights
    .map((_, i) => i)
    .filter((i) => (remainders[i] as number) > 0)
    .sort((a, b) => {
      const aHolds = (held[a] as number) > (quotas[a] as number) ? 0 : 1;
      const bHolds = (held[b] as number) > (quotas[b] as number) ? 0 : 1;
      return aHolds - bHolds || (remainders[b] as number) - (remainders[a] as number) || a - b;
    });
  assert(order.length >= leftover, 'enough nodes have a remainder to round up');
  for (const i of order.slice(0, leftover)) quotas[i] = (quotas[i] as number) + 1;
  // A node whose share is under one partition still gets one, from the node with the most.
  for (let i = 0; i < quotas.length; i++) {
    if (quotas[i] !== 0) continue;
    let donor = 0;
    for (let j = 1; j < quotas.length; j++) if ((quotas[j] as number) > (quotas[donor] as number)) donor = j;
    assert((quotas[donor] as number) >= 2, 'Q ≥ S leaves a node with two partitions to give one');
    quotas[donor] = (quotas[donor] as number) - 1;
    quotas[i] = 1;
  }
  return quotas;
}

/**
 * Frees `count` of a node's sorted `partitions`: one in each of `count` equal strides through them,
 * starting at a phase within the stride set by the node's hash (without it, nodes whose
 * partitions interleave would all free neighbouring partitions, and a joining node would get them
 * as a run), and moving on within the stride to one whose neighbours are not free already, best
 * one that has a neighbour of the same owner (freeing it shortens that run).
 */
function release(
  owners: (NodeId | undefined)[],
  partitions: readonly number[],
  count: number,
  hash: number,
): void {
  const n = partitions.length;
  const q = owners.length;
  assert(count >= 1 && count <= n, 'a node releases some of what it holds');
  const phase = jitter(hash, -1); // in [0, 1)
  for (let j = 0; j < count; j++) {
    const first = Math.floor((j * n) / count);
    const width = Math.floor(((j + 1) * n) / count) - first;
    const start = Math.floor(phase * width);
    // Best: a partition that breaks a run of this node; next: any with no free neighbour.
    let chosen = partitions[first + start] as number;
    let best = 0;
    for (let i = 0; i < width && best < 2; i++) {
      const p = partitions[first + ((start + i) % width)] as number;
      const before = owners[(p + q - 1) % q];
      const after = owners[(p + 1) % q];
      if (before === undefined || after === undefined) continue;
      const score = before === owners[p] || after === owners[p] ? 2 : 1;
      if (score > best) [chosen, best] = [p, score];
    }
    owners[chosen] = undefined;
  }
}

/**
 * The order in which nodes claim the free partitions: node i has deficits[i] claims, the k-th at
 * (k + jitter) / deficit of the walk, where the jitter in [0, 1) comes from the node's ID and k.
 * Returns node indices, one a free partition. Ties (equal points) go to the lower index.
 */
function interleave(nodes: readonly RingNode[], deficits: readonly number[]): number[] {
  const claims: { point: number; node: number; k: number }[] = [];
  for (const [i, node] of nodes.entries()) {
    const d = deficits[i] as number;
    const h = idHash(node.id);
    for (let k = 0; k < d; k++) claims.push({ point: (k + jitter(h, k)) / d, node: i, k });
  }
  // IEEE 754 division is exact to the same bit on every engine, so this order is portable.
  claims.sort((a, b) => a.point - b.point || a.node - b.node || a.k - b.k);
  return claims.map((c) => c.node);
}

/** FNV-1a over the ID's code units (IDs are ASCII). */
function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A value in [0, 1) from (hash, k): lowbias32 of their mix, over 2^32. */
function jitter(h: number, k: number): number {
  let x = (h ^ Math.imul(k + 1, 0x9e3779b9)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32;
}
