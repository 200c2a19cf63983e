// Binary encoding of the ring (Dynamo §4.8: membership and the ring travel by gossip, and
// §6.2: strategy 3's ring is small enough to send whole). Decoding returns a Result: bytes from a
// peer are validated, counted and bounded, never asserted on. The numbers are part of the protocol.
//
//   ring   = encoding:u8 (1) version:varint partitions:varint n:varint (id:string weight:varint)^n
//            owners
//   id     = varint length + ASCII [A-Za-z0-9_.-]{1,64}; the ids strictly ascending (code units)
//   weight = 1..1000
//   owners = `partitions` indices into the node table, each b = ⌈log₂ n⌉ bits (0 bits when
//            n = 1), packed most significant bit first, the last byte padded with zero bits;
//            nothing follows
//
// 20 nodes and Q = 1024 encode in about 0.8 KB.

import { err, ok, TrolleyError, type Result } from '../errors.ts';
import { DecodeFailure, Reader, Writer } from '../codec/bytes.ts';
import { isNodeId, type NodeId } from './node-id.ts';
import { ringProblem, type RingNode, type RingState } from './ring.ts';
import { ringLimits } from './ring-limits.ts';

export const RING_ENCODING_VERSION = 1;

/** Bytes a node takes at least in the table: a length byte, one character, a weight byte. */
const NODE_BYTES_MIN = 3;

/** Bits per owner index for a table of n nodes. */
function indexBits(nodeCount: number): number {
  let bits = 0;
  while (1 << bits < nodeCount) bits++;
  return bits;
}

export function encodeRing(ring: RingState): Uint8Array {
  const problem = ringProblem(ring);
  if (problem !== undefined) throw new TrolleyError('invalid_argument', `cannot encode ring: ${problem}`);
  const w = new Writer(64 + ring.nodes.length * 8 + ring.partitionCount * 2);
  w.u8(RING_ENCODING_VERSION);
  w.varint(ring.version);
  w.varint(ring.partitionCount);
  w.varint(ring.nodes.length);
  const index = new Map<NodeId, number>();
  for (const [i, node] of ring.nodes.entries()) {
    w.string(node.id);
    w.varint(node.weight);
    index.set(node.id, i);
  }
  const bits = indexBits(ring.nodes.length);
  let acc = 0; // pending bits, fewer than 8 + 16
  let pending = 0;
  for (const owner of ring.owners) {
    acc = (acc << bits) | (index.get(owner) as number);
    pending += bits;
    while (pending >= 8) {
      pending -= 8;
      w.u8((acc >>> pending) & 0xff);
    }
    acc &= (1 << pending) - 1;
  }
  if (pending > 0) w.u8((acc << (8 - pending)) & 0xff);
  return w.finish();
}

export function decodeRing(bytes: Uint8Array): Result<RingState> {
  if (bytes.length > ringLimits.encodedRingBytesMax)
    return err(
      new TrolleyError(
        'limit_exceeded',
        `encoded ring of ${bytes.length} bytes; the limit is ${ringLimits.encodedRingBytesMax}`,
      ),
    );
  try {
    return ok(readRing(new Reader(bytes)));
  } catch (e) {
    if (e instanceof DecodeFailure) return err(new TrolleyError(e.code, `cannot decode ring: ${e.message}`));
    throw e;
  }
}

function readRing(r: Reader): RingState {
  const encoding = r.u8();
  if (encoding !== RING_ENCODING_VERSION)
    throw new DecodeFailure(
      'decode_version',
      `ring encoding version ${encoding}; this build reads ${RING_ENCODING_VERSION}`,
    );
  const version = r.varint();
  const partitionCount = r.varint();
  if (partitionCount < ringLimits.partitionCountMin) r.fail(`partition count ${partitionCount}`);
  if (partitionCount > ringLimits.partitionCountMax)
    throw new DecodeFailure(
      'limit_exceeded',
      `${partitionCount} partitions; the limit is ${ringLimits.partitionCountMax}`,
    );
  const nodeCount = r.count(Math.min(partitionCount, ringLimits.nodesMax), 'nodes', NODE_BYTES_MIN);
  if (nodeCount === 0) r.fail('a ring without nodes');

  const nodes: RingNode[] = [];
  let previous: string | undefined;
  for (let i = 0; i < nodeCount; i++) {
    const id = r.string(ringLimits.nodeIdLengthMax);
    if (!isNodeId(id)) r.fail(`not a node ID: ${JSON.stringify(id)}`);
    if (previous !== undefined && previous >= id) r.fail('node IDs not strictly ascending');
    const weight = r.varint();
    if (weight < 1 || weight > ringLimits.weightMax) r.fail(`weight ${weight}`);
    nodes.push({ id, weight });
    previous = id;
  }

  const bits = indexBits(nodeCount);
  const ownerBytes = Math.ceil((partitionCount * bits) / 8);
  if (ownerBytes > r.left)
    throw new DecodeFailure('decode_truncated', `${partitionCount} owners cannot fit in ${r.left} bytes`);
  const owners: NodeId[] = [];
  let acc = 0;
  let pending = 0;
  const mask = (1 << bits) - 1;
  for (let p = 0; p < partitionCount; p++) {
    while (pending < bits) {
      acc = ((acc << 8) | r.u8()) & 0xffffff;
      pending += 8;
    }
    pending -= bits;
    const i = (acc >>> pending) & mask;
    const node = nodes[i];
    if (node === undefined) r.fail(`owner index ${i} of ${nodeCount} nodes`);
    owners.push(node.id);
  }
  if ((acc & ((1 << pending) - 1)) !== 0) r.fail('non-zero padding bits');
  if (r.left !== 0) r.fail(`${r.left} bytes after the ring`);
  return { version, partitionCount, nodes, owners };
}
