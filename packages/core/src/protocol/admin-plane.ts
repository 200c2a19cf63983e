// The admin plane (tags 128–159): an operator's tools asking a node for a list as it holds it, for
// its statistics, or to change the ring; a proxy answers `stats` too. Served by storage nodes
// (from operators only) and proxies (stats).

import type { ListId } from '../ids.ts';
import { limits } from '../limits.ts';
import type { Reader, Writer } from '../codec/bytes.ts';
import {
  decoderOf,
  encodeWith,
  listIdBytes,
  readListId,
  readOptionalState,
  shortStringMax,
  writeId,
  writeOptionalState,
  type ErrorMessage,
  type PlaneCodec,
} from './frame.ts';

export const AdminTag = {
  'admin-read': 128,
  'admin-read-reply': 129,
  stats: 130,
  'stats-reply': 131,
  'ring-change': 132,
  'ring-change-reply': 133,
} as const;

export interface WireRingNode {
  id: string;
  address: string;
  weight: number;
}

export type AdminBody =
  | { type: 'admin-read'; requestId: number; listId: ListId }
  | {
      type: 'admin-read-reply';
      requestId: number;
      state: Uint8Array | undefined;
      hash: Uint8Array | undefined;
    }
  | { type: 'stats'; requestId: number }
  | { type: 'stats-reply'; requestId: number; json: string }
  | {
      type: 'ring-change';
      requestId: number;
      add: WireRingNode[];
      remove: string[];
      /**
       * Make the change even if the ring it leaves keeps none of the current nodes or has fewer
       * than N (the node refuses such a change otherwise). On the wire: a trailing u8, written only
       * when set, so frames without it are those of before.
       */
      force?: boolean;
    }
  | { type: 'ring-change-reply'; requestId: number; ringVersion: number };

export type AdminMessage = AdminBody | ErrorMessage;

export const adminCodec: PlaneCodec<AdminBody> = {
  plane: 'admin',
  tags: AdminTag,
  size(m) {
    switch (m.type) {
      case 'admin-read-reply':
        return m.state?.length ?? 0;
      case 'stats-reply':
        return m.json.length * 3;
      case 'ring-change':
        return (m.add.length + m.remove.length) * 48;
      case 'admin-read':
      case 'stats':
      case 'ring-change-reply':
        return 0;
    }
  },
  write(w: Writer, m: AdminBody): void {
    switch (m.type) {
      case 'admin-read':
        writeId(w, listIdBytes(m.listId));
        break;
      case 'admin-read-reply':
        writeOptionalState(w, m.state, m.hash);
        break;
      case 'stats':
        break;
      case 'stats-reply':
        w.string(m.json);
        break;
      case 'ring-change':
        w.varint(m.add.length);
        for (const n of m.add) {
          w.string(n.id);
          w.string(n.address);
          w.varint(n.weight);
        }
        w.varint(m.remove.length);
        for (const id of m.remove) w.string(id);
        if (m.force === true) w.u8(1);
        break;
      case 'ring-change-reply':
        w.varint(m.ringVersion);
        break;
    }
  },
  read(r: Reader, type: AdminBody['type'], requestId: number): AdminBody {
    switch (type) {
      case 'admin-read':
        return { type, requestId, listId: readListId(r) };
      case 'admin-read-reply':
        return { type, requestId, ...readOptionalState(r) };
      case 'stats':
        return { type, requestId };
      case 'stats-reply':
        return { type, requestId, json: r.string(limits.encodedListBytesMax) };
      case 'ring-change': {
        const nAdd = r.count(limits.membersMax, 'nodes to add', 3);
        const add: WireRingNode[] = [];
        for (let i = 0; i < nAdd; i++)
          add.push({ id: r.string(shortStringMax), address: r.string(shortStringMax), weight: r.varint() });
        const nRemove = r.count(limits.membersMax, 'nodes to remove', 1);
        const remove: string[] = [];
        for (let i = 0; i < nRemove; i++) remove.push(r.string(shortStringMax));
        const change: Extract<AdminBody, { type: 'ring-change' }> = { type, requestId, add, remove };
        // Absent (not forced, or a frame from before the flag) or 1: never 0, so one encoding each.
        if (r.left > 0) {
          if (r.u8() !== 1) r.fail('a force flag other than 1');
          change.force = true;
        }
        return change;
      }
      case 'ring-change-reply':
        return { type, requestId, ringVersion: r.varint() };
    }
  },
};

export const encodeAdminMessage = (m: AdminMessage): Uint8Array => encodeWith(adminCodec, m);
/** Admin-plane frames only (and `error`): what an operator's tools read. */
export const decodeAdminMessage = decoderOf(adminCodec);
