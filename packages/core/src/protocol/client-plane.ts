// The client plane (tags 1–31): what a client says to a proxy or a gateway and hears back, and
// what a proxy forwards to the node coordinating a list. Served by proxies, gateways, the
// coordinating node (put and get) and clients. Tags 10–25 are free (version 1 gave them to other
// planes' messages).

import { writerSecretBytes, type ListId } from '../ids.ts';
import { limits } from '../limits.ts';
import type { Reader, Writer } from '../codec/bytes.ts';
import {
  decoderOf,
  encodeWith,
  listIdBytes,
  hexBytes,
  readListId,
  readOpId,
  shortStringMax,
  writeId,
  type ErrorMessage,
  type OpId,
  type PlaneCodec,
} from './frame.ts';

export const ClientTag = {
  hello: 1,
  'hello-reply': 2,
  put: 3,
  'put-reply': 4,
  get: 5,
  'get-reply': 6,
  // 7: error, the one message of every plane (frame.ts)
  locate: 8,
  'locate-reply': 9,
  watch: 26,
  changed: 27,
  'gateway-hello': 28,
} as const;

/** The client plane's own messages (with `error`: ClientMessage). */
export type ClientBody =
  | { type: 'hello'; requestId: number; client: string }
  | {
      type: 'hello-reply';
      requestId: number;
      version: number;
      server: string;
      messageBytesMax: number;
      /** The answering server's clock, so a client can write deadlines in it (§3, clocks). */
      wallMs: number;
    }
  | {
      type: 'put';
      requestId: number;
      listId: ListId;
      opId: OpId;
      deadlineMs: number;
      delta: Uint8Array;
      /**
       * The writer's secret (writerSecretBytes): its hash is the writer's replica ID, the only
       * replica whose new dots this put may carry. Absent or empty: none (legacy replica IDs only).
       */
      writer?: Uint8Array;
    }
  | { type: 'put-reply'; requestId: number; outcome: 'ok' | 'unknown'; acks: number; replicas: number }
  | { type: 'get'; requestId: number; listId: ListId; deadlineMs: number; context: Uint8Array }
  | {
      type: 'get-reply';
      requestId: number;
      /** What the caller is missing (an encoded ListDoc carrying the merged context). */
      delta: Uint8Array;
      /** Replicas that answered, and how many of them already held the merged state. */
      answered: number;
      inSync: number;
      replicas: number;
    }
  /**
   * Client → proxy: which storage nodes serve this list directly? (Their client ports, "fronts":
   * a client that writes to and watches at the list's coordinator saves two hops a change.)
   */
  | { type: 'locate'; requestId: number; listId: ListId }
  /**
   * The fronts of the list's preference list (§4.3) that the proxy believes live, in preference
   * order, as cloud addresses (tcp://host:port#KEY): the first is the coordinator the proxy would
   * forward to. Empty: no node of it has a front, or none is live; use the proxy.
   */
  | { type: 'locate-reply'; requestId: number; listId: ListId; fronts: string[] }
  /** Client → proxy: tell me when these lists change (a lease: repeat it within watchLeaseMs). */
  | { type: 'watch'; requestId: number; listIds: ListId[] }
  /**
   * Node → proxies → watching clients: a write to this list became cloud-ok; `delta` is that
   * write (joining it is always safe), so a watcher is up to date without asking.
   */
  | { type: 'changed'; requestId: number; listId: ListId; delta: Uint8Array }
  /**
   * Gateway → browser, once, right after a WebSocket opens: the gateway's wall clock (so that the
   * browser can express deadlines in it), the largest frame it accepts, and its name.
   */
  | { type: 'gateway-hello'; requestId: number; wallMs: number; messageBytesMax: number; server: string };

export type ClientMessage = ClientBody | ErrorMessage;

const noWriter = new Uint8Array(0);

export const clientCodec: PlaneCodec<ClientBody> = {
  plane: 'client',
  tags: ClientTag,
  size(m) {
    switch (m.type) {
      case 'put':
      case 'get-reply':
      case 'changed':
        return m.delta.length;
      case 'get':
        return m.context.length;
      case 'watch':
        return m.listIds.length * 16;
      case 'locate-reply':
        return m.fronts.length * 64;
      case 'locate':
      case 'hello':
      case 'hello-reply':
      case 'put-reply':
      case 'gateway-hello':
        return 0;
    }
  },
  write(w: Writer, m: ClientBody): void {
    switch (m.type) {
      case 'hello':
        w.string(m.client);
        break;
      case 'hello-reply':
        w.varint(m.version);
        w.string(m.server);
        w.varint(m.messageBytesMax);
        w.varint(m.wallMs);
        break;
      case 'put':
        writeId(w, listIdBytes(m.listId));
        writeId(w, hexBytes(m.opId));
        w.varint(m.deadlineMs);
        w.bytes(m.delta);
        w.bytes(m.writer ?? noWriter);
        break;
      case 'put-reply':
        w.u8(m.outcome === 'ok' ? 0 : 1);
        w.varint(m.acks);
        w.varint(m.replicas);
        break;
      case 'get':
        writeId(w, listIdBytes(m.listId));
        w.varint(m.deadlineMs);
        w.bytes(m.context);
        break;
      case 'get-reply':
        w.bytes(m.delta);
        w.varint(m.answered);
        w.varint(m.inSync);
        w.varint(m.replicas);
        break;
      case 'locate':
        writeId(w, listIdBytes(m.listId));
        break;
      case 'locate-reply':
        writeId(w, listIdBytes(m.listId));
        w.varint(m.fronts.length);
        for (const f of m.fronts) w.string(f);
        break;
      case 'watch':
        w.varint(m.listIds.length);
        for (const id of m.listIds) writeId(w, listIdBytes(id));
        break;
      case 'changed':
        writeId(w, listIdBytes(m.listId));
        w.bytes(m.delta);
        break;
      case 'gateway-hello':
        w.varint(m.wallMs);
        w.varint(m.messageBytesMax);
        w.string(m.server);
        break;
    }
  },
  read(r: Reader, type: ClientBody['type'], requestId: number): ClientBody {
    switch (type) {
      case 'hello':
        return { type, requestId, client: r.string(shortStringMax) };
      case 'hello-reply':
        return {
          type,
          requestId,
          version: r.varint(),
          server: r.string(shortStringMax),
          messageBytesMax: r.varint(),
          wallMs: r.varint(),
        };
      case 'put': {
        const put: Extract<ClientBody, { type: 'put' }> = {
          type,
          requestId,
          listId: readListId(r),
          opId: readOpId(r),
          deadlineMs: r.varint(),
          delta: r.bytes(limits.encodedListBytesMax),
        };
        const writer = readWriter(r);
        if (writer.length > 0) put.writer = writer;
        return put;
      }
      case 'put-reply': {
        const outcome = r.u8();
        if (outcome > 1) r.fail('unknown put outcome');
        return {
          type,
          requestId,
          outcome: outcome === 0 ? 'ok' : 'unknown',
          acks: r.varint(),
          replicas: r.varint(),
        };
      }
      case 'get':
        return {
          type,
          requestId,
          listId: readListId(r),
          deadlineMs: r.varint(),
          context: r.bytes(limits.encodedListBytesMax),
        };
      case 'get-reply':
        return {
          type,
          requestId,
          delta: r.bytes(limits.encodedListBytesMax),
          answered: r.varint(),
          inSync: r.varint(),
          replicas: r.varint(),
        };
      case 'locate':
        return { type, requestId, listId: readListId(r) };
      case 'locate-reply': {
        const listId = readListId(r);
        const n = r.count(limits.frontsPerLocateMax, 'fronts', 2);
        const fronts: string[] = [];
        for (let i = 0; i < n; i++) fronts.push(r.string(shortStringMax));
        return { type, requestId, listId, fronts };
      }
      case 'watch': {
        const n = r.count(limits.watchedListsMax, 'watched lists', 16);
        const listIds: ListId[] = [];
        for (let i = 0; i < n; i++) listIds.push(readListId(r));
        return { type, requestId, listIds };
      }
      case 'changed':
        return { type, requestId, listId: readListId(r), delta: r.bytes(limits.encodedListBytesMax) };
      case 'gateway-hello':
        return {
          type,
          requestId,
          wallMs: r.varint(),
          messageBytesMax: r.varint(),
          server: r.string(shortStringMax),
        };
    }
  },
};

/** A put's writer secret: none (empty) or exactly writerSecretBytes. */
function readWriter(r: Reader): Uint8Array {
  const b = r.bytes(writerSecretBytes);
  if (b.length !== 0 && b.length !== writerSecretBytes) r.fail('a writer secret of the wrong length');
  return b;
}

export const encodeClientMessage = (m: ClientMessage): Uint8Array => encodeWith(clientCodec, m);
/** Client-plane frames only (and `error`): what clients, proxies' client ports and gateways read. */
export const decodeClientMessage = decoderOf(clientCodec);
