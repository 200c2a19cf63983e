// Direct requests to one storage node (not through a proxy): read a replica's copy of a list,
// or a node's stats. For operators and tests; the node answers on its peer port.

import type * as zmq from 'zeromq';
import { TrolleyError, decodeMessage, encodeMessage, type ListId, type Message } from '@trolley/core';
import { dealer } from './zmq.ts';

async function ask(address: string, request: Message, timeoutMs: number): Promise<Message> {
  const socket: zmq.Dealer = dealer();
  socket.receiveTimeout = timeoutMs;
  socket.connect(address);
  try {
    await socket.send(encodeMessage(request));
    for (;;) {
      const frames = await socket.receive();
      const m = decodeMessage(frames[0] ?? new Uint8Array());
      if (m.ok && m.value.requestId === request.requestId) return m.value;
    }
  } catch (e) {
    throw new TrolleyError('not_found', `node at ${address} did not answer: ${String(e)}`);
  } finally {
    socket.close();
  }
}

export async function adminRead(
  address: string,
  listId: ListId,
  timeoutMs = 2_000,
): Promise<{ state: Uint8Array | undefined; hash: Uint8Array | undefined }> {
  const m = await ask(address, { type: 'admin-read', requestId: 1, listId }, timeoutMs);
  if (m.type !== 'admin-read-reply') throw new TrolleyError('invalid_argument', `unexpected ${m.type}`);
  return { state: m.state, hash: m.hash };
}

export async function nodeStats(address: string, timeoutMs = 2_000): Promise<Record<string, unknown>> {
  const m = await ask(address, { type: 'stats', requestId: 1 }, timeoutMs);
  if (m.type !== 'stats-reply') throw new TrolleyError('invalid_argument', `unexpected ${m.type}`);
  return JSON.parse(m.json) as Record<string, unknown>;
}

/** Asks a node to change the ring: add nodes (ID, address, weight) and remove nodes (IDs). */
export async function ringChange(
  address: string,
  change: { add?: { id: string; address: string; weight?: number }[]; remove?: string[] },
  timeoutMs = 5_000,
): Promise<number> {
  const add = (change.add ?? []).map((n) => ({ id: n.id, address: n.address, weight: n.weight ?? 1 }));
  const m = await ask(
    address,
    { type: 'ring-change', requestId: 1, add, remove: change.remove ?? [] },
    timeoutMs,
  );
  if (m.type === 'error')
    throw new TrolleyError('invalid_argument', `the node refused the ring change: ${m.message}`);
  if (m.type !== 'ring-change-reply') throw new TrolleyError('invalid_argument', `unexpected ${m.type}`);
  return m.ringVersion;
}
