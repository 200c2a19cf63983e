import { describe, expect, it } from 'vitest';
import { md5, parseNodeId } from '@trolley/core';
import { MemoryListStore } from '../memory-list-store.ts';
import { Membership } from '../membership.ts';
import { silentLogger, type NodeTransport, type Peer, type ReplyTo } from '../ports.ts';
import { noObserver } from '../observer.ts';
import { RefusalLog } from '../refusal-log.ts';
import { ManualClock } from '../testing/cluster-fixture.ts';
import { defaultNodeConfig } from './config.ts';
import { NodeContext } from './context.ts';
import { RequestTable, type Answer } from './requests.ts';

function table(): { requests: RequestTable; ctx: NodeContext; clock: ManualClock } {
  const clock = new ManualClock();
  const transport: NodeTransport = { send: () => {}, reply: () => {} };
  const id = parseNodeId('n1');
  const ctx = new NodeContext({
    id,
    config: defaultNodeConfig,
    quorum: { n: 3, r: 2, w: 2 },
    store: new MemoryListStore(),
    transport,
    clock,
    random: { fill: (b) => b },
    logger: silentLogger,
    digest: md5,
    membership: new Membership({ id, address: 'a', heartbeat: 0 }, defaultNodeConfig, 0),
    refusals: new RefusalLog({ logger: silentLogger, clock }),
    observer: noObserver,
  });
  return { requests: new RequestTable(ctx), ctx, clock };
}

const n2 = parseNodeId('n2');
const peer = (id: string): Peer => ({ role: 'node', id });
const via = {} as ReplyTo;
const ack = (requestId: number): Answer => ({
  type: 'replica-put-reply',
  requestId,
  hash: new Uint8Array(16),
});

describe('request table: each answer to its asker, from the node asked only', () => {
  it('routes an answer to the asker once; a duplicate finds nothing', () => {
    const { requests } = table();
    const seen: number[] = [];
    const a = requests.open(n2, { answer: (m) => (seen.push(m.requestId), 'done') });
    const b = requests.open(n2, { answer: () => 'done' });
    expect(a).not.toBe(b);
    requests.route(ack(a), via, peer('n2'));
    requests.route(ack(a), via, peer('n2'));
    expect(seen).toEqual([a]);
  });

  it('an answer from another node is a stray reply and leaves the request waiting', () => {
    const { requests, ctx } = table();
    const seen: string[] = [];
    const a = requests.open(n2, { answer: (_, __) => (seen.push('answered'), 'done') });
    requests.route(ack(a), via, peer('n9'));
    expect([seen, ctx.counters.strayReplies]).toEqual([[], 1]);
    requests.route(ack(a), via, peer('n2'));
    expect(seen).toEqual(['answered']);
  });

  it("'keep' leaves a request waiting for the answer it expects", () => {
    const { requests } = table();
    const seen: string[] = [];
    const a = requests.open(n2, { answer: (m) => (seen.push(m.type), m.type === 'error' ? 'done' : 'keep') });
    requests.route(ack(a), via, peer('n2'));
    requests.route({ type: 'error', requestId: a, code: 'overloaded', message: 'busy' }, via, peer('n2'));
    requests.route(ack(a), via, peer('n2'));
    expect(seen).toEqual(['replica-put-reply', 'error']);
  });

  it('background requests expire after the background deadline; cancelled ones never answer', () => {
    const { requests, clock } = table();
    const events: string[] = [];
    const a = requests.openBackground(n2, { answer: () => 'done', expire: () => events.push('expired') });
    const b = requests.open(n2, { answer: () => (events.push('b'), 'done') });
    requests.cancel(b);
    requests.route(ack(b), via, peer('n2'));
    clock.advance(defaultNodeConfig.backgroundDeadlineMs - 1);
    requests.tick(clock.monotonicMs());
    expect(events).toEqual([]);
    clock.advance(1);
    requests.tick(clock.monotonicMs());
    requests.route(ack(a), via, peer('n2'));
    expect(events).toEqual(['expired']);
  });
});
