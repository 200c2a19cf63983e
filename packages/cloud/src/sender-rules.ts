// Who may send a storage node each message (Trust part 2). The transport authenticates every
// frame and says who sent it (a Peer: role and ID, ports.ts); this table is what the node then
// accepts from whom. Without it, anything that can reach a node's port could speak for a node: a
// client's connection could write a replica (replica-put skips the write check coordinators
// make), a proxy could change the ring, a node could answer for an operator.
//
//   client requests   put, get: forwarded by a proxy (in memory: sent by a simulated client)
//   peer traffic      replica and hinted writes, reads, gossip, anti-entropy, and every reply a
//                     node waits for: only from nodes (a coordinator asks nodes, never anyone else)
//   operator requests ring-change, admin-read, stats: only from an operator's tools
//
// Messages a node never takes (hello, watch, the replies it sends itself, ...) have no rule: the
// node drops them as unexpected whoever sends them.
//
// The roles map onto the protocol's planes (docs/PROTOCOL.md §3): a node reads a proxy's (or an
// in-memory client's) frames as the client plane, a node's as the replica, gossip and
// anti-entropy planes, an operator's as the admin plane. A frame of any other plane never
// becomes a message: it is refused as a foreign frame (and answered `refused` if it is a request).

import {
  antiEntropyCodec,
  decodeAdminMessage,
  decodeClientMessage,
  decoderOf,
  gossipCodec,
  replicaCodec,
  type AntiEntropyMessage,
  type GossipMessage,
  type MessageType,
  type ReplicaMessage,
} from '@trolley/core';
import type { PeerRole } from './ports.ts';

/** What a node reads from another node: the peer planes. */
export const decodePeerMessage = decoderOf(replicaCodec, gossipCodec, antiEntropyCodec);
export type PeerMessage = ReplicaMessage | GossipMessage | AntiEntropyMessage;

/** The decoder of the planes each role speaks to a node. */
export const nodeDecoders = {
  proxy: decodeClientMessage,
  client: decodeClientMessage,
  node: decodePeerMessage,
  operator: decodeAdminMessage,
} as const satisfies Record<PeerRole, unknown>;

export interface SenderRule {
  /** The roles that may send it. */
  readonly from: readonly PeerRole[];
  /** A request (its sender waits for an answer): refused, it is answered `error(refused)`. */
  readonly request: boolean;
}

const clientRequest: SenderRule = { from: ['proxy', 'client'], request: true };
const peerRequest: SenderRule = { from: ['node'], request: true };
/** A reply, or a one-way push: never answered, lest two nodes answer each other's errors forever. */
const peerReply: SenderRule = { from: ['node'], request: false };
const operatorRequest: SenderRule = { from: ['operator'], request: true };

/** Every message type, so that the compiler asks who may send a new one. */
export const nodeSenderRules: Readonly<Record<MessageType, SenderRule | undefined>> = {
  put: clientRequest,
  get: clientRequest,
  'replica-put': peerRequest,
  'hinted-put': peerRequest,
  'replica-get': peerRequest,
  // Push-pull: a gossip is answered with a gossip-reply sent to the member it names, not an error.
  gossip: peerReply,
  'gossip-reply': peerReply,
  'ae-root': peerRequest,
  'ae-keys': peerRequest,
  'ae-buckets': peerReply,
  'ae-keys-reply': peerReply,
  'replica-put-reply': peerReply,
  'replica-get-reply': peerReply,
  error: peerReply,
  'ring-change': operatorRequest,
  'admin-read': operatorRequest,
  stats: operatorRequest,
  hello: undefined,
  'hello-reply': undefined,
  'put-reply': undefined,
  'get-reply': undefined,
  'admin-read-reply': undefined,
  'stats-reply': undefined,
  'node-hello': undefined,
  'ring-change-reply': undefined,
  watch: undefined,
  changed: undefined,
  locate: undefined,
  'locate-reply': undefined,
  'gateway-hello': undefined,
};

/** Whether a node accepts `type` from `role` (true for types without a rule: dropped elsewhere). */
export function senderAllowed(type: MessageType, role: PeerRole): boolean {
  const rule = nodeSenderRules[type];
  return rule === undefined || rule.from.includes(role);
}
