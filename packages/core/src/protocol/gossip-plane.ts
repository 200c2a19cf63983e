// The gossip plane (tags 64–95): membership and the ring. Nodes gossip their members and the ring
// they follow to each other; a node greets each proxy with its ring (node-hello), which is how a
// proxy follows the ring. Served by storage nodes (gossip) and proxies (node-hello).

import { limits } from '../limits.ts';
import type { Reader, Writer } from '../codec/bytes.ts';
import { decoderOf, encodeWith, shortStringMax, type ErrorMessage, type PlaneCodec } from './frame.ts';

export const GossipTag = {
  'node-hello': 64,
  gossip: 65,
  'gossip-reply': 66,
} as const;

export interface WireMember {
  id: string;
  address: string;
  heartbeat: number;
}

export type GossipBody =
  | {
      type: 'node-hello';
      requestId: number;
      nodeId: string;
      address: string;
      ring: Uint8Array;
      /**
       * The node's client port ("front"), as clients dial it (tcp://host:port#KEY), which the
       * proxy names in `locate-reply`; absent: the node has none. Written last and only when
       * present, so a hello without it is the version-1 hello.
       */
      front?: string;
    }
  | { type: 'gossip'; requestId: number; from: string; members: WireMember[]; ring: Uint8Array }
  | { type: 'gossip-reply'; requestId: number; from: string; members: WireMember[]; ring: Uint8Array };

export type GossipMessage = GossipBody | ErrorMessage;

export const gossipCodec: PlaneCodec<GossipBody> = {
  plane: 'gossip',
  tags: GossipTag,
  size(m) {
    return m.ring.length + ('members' in m ? m.members.length * 48 : 0);
  },
  write(w: Writer, m: GossipBody): void {
    switch (m.type) {
      case 'node-hello':
        w.string(m.nodeId);
        w.string(m.address);
        w.bytes(m.ring);
        if (m.front !== undefined && m.front !== '') w.string(m.front);
        break;
      case 'gossip':
      case 'gossip-reply':
        w.string(m.from);
        w.varint(m.members.length);
        for (const x of m.members) {
          w.string(x.id);
          w.string(x.address);
          w.varint(x.heartbeat);
        }
        w.bytes(m.ring);
        break;
    }
  },
  read(r: Reader, type: GossipBody['type'], requestId: number): GossipBody {
    switch (type) {
      case 'node-hello': {
        const hello: Extract<GossipBody, { type: 'node-hello' }> = {
          type,
          requestId,
          nodeId: r.string(shortStringMax),
          address: r.string(shortStringMax),
          ring: r.bytes(limits.encodedListBytesMax),
        };
        if (r.left > 0) hello.front = r.string(shortStringMax);
        return hello;
      }
      case 'gossip':
      case 'gossip-reply': {
        const from = r.string(shortStringMax);
        const n = r.count(limits.membersMax, 'members', 3);
        const members: WireMember[] = [];
        for (let i = 0; i < n; i++)
          members.push({
            id: r.string(shortStringMax),
            address: r.string(shortStringMax),
            heartbeat: r.varint(),
          });
        return { type, requestId, from, members, ring: r.bytes(limits.encodedListBytesMax) };
      }
    }
  },
};

export const encodeGossipMessage = (m: GossipMessage): Uint8Array => encodeWith(gossipCodec, m);
/** Gossip-plane frames only (and `error`). */
export const decodeGossipMessage = decoderOf(gossipCodec);
