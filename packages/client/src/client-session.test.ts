// The sans-IO client session on a hand-driven clock: deadlines in the peer's clock, give-ups,
// outcomes, the clock offset, the watch and its renewal, and malformed frames counted and dropped.

import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeMessage,
  newListId,
  opIdFrom,
  type ListId,
  type Message,
  type Random,
} from '@trolley/core';
import { ClientSession, type SessionOptions } from './client-session.ts';

const random: Random = { fill: (b) => b.map((_, i) => (i * 37 + 11) & 0xff) };
const seq = (n: number): Random => ({ fill: (b) => b.map((_, i) => (i * 31 + n) & 0xff) });

/** A session whose time moves only by `advance`, and whose sends are kept. */
function harness(options: SessionOptions = {}, wallSkewMs = 0) {
  let now = 1_000;
  const timers: { at: number; action: () => void; live: boolean }[] = [];
  const sent: { m: Message; lane: number }[] = [];
  let online = true;
  const session = new ClientSession(
    {
      clock: { monotonicMs: () => now, wallMs: () => 1_700_000_000_000 + now + wallSkewMs },
      send: (frame, lane) => {
        if (!online) return false;
        const d = decodeMessage(frame);
        if (!d.ok) throw d.error;
        sent.push({ m: d.value, lane });
        return true;
      },
      after: (ms, action) => {
        const t = { at: now + ms, action, live: true };
        timers.push(t);
        return () => void (t.live = false);
      },
    },
    options,
  );
  const advance = async (ms: number): Promise<void> => {
    const end = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      now = due.at;
      due.live = false;
      due.action();
      await Promise.resolve();
    }
    now = end;
    await Promise.resolve();
  };
  const reply = (m: Message): void => session.receive(encodeMessage(m));
  return {
    session,
    sent,
    advance,
    reply,
    setOnline: (v: boolean) => (online = v),
    liveTimers: () => timers.filter((t) => t.live).length,
  };
}

const list = (): ListId => newListId(random);

describe('ClientSession', () => {
  it('writes the deadline in the peer clock, learnt from a hello-reply over the round trip', async () => {
    const h = harness({}, -60_000); // this device's wall clock is a minute slow
    const hello = h.session.hello(1_000);
    const sentHello = h.sent.at(-1)?.m;
    expect(sentHello?.type).toBe('hello');
    await h.advance(40); // 40 ms round trip; the peer read its clock at the midpoint
    const peerNow = 1_700_000_000_000 + 1_020; // the peer's true time at the midpoint
    h.reply({
      type: 'hello-reply',
      requestId: sentHello?.requestId ?? -1,
      version: 1,
      server: 'p',
      messageBytesMax: 0,
      wallMs: peerNow,
    });
    expect(await hello).toBe(true);
    expect(h.session.clockOffsetMs).toBe(60_000);
    expect(h.session.clockKnown(5_000)).toBe(true);
    void h.session.put(list(), new Uint8Array([1]), {
      opId: opIdFrom(random.fill(new Uint8Array(16))),
      timeoutMs: 1_500,
    });
    const put = h.sent.at(-1)?.m;
    // now = 1_040 on the peer's clock, plus 1 500 ms
    expect(put?.type === 'put' && put.deadlineMs).toBe(1_700_000_000_000 + 1_040 + 1_500);
    await h.advance(5 * 60_000);
    expect(h.session.clockKnown(5 * 60_000)).toBe(false);
  });

  it('a gateway-hello sets the offset one way and tells the hello listeners', () => {
    const h = harness({}, 5_000);
    let hellos = 0;
    h.session.onHello(() => hellos++);
    h.reply({
      type: 'gateway-hello',
      requestId: 0,
      wallMs: 1_700_000_000_000 + 1_000,
      messageBytesMax: 1,
      server: 'g',
    });
    expect(h.session.clockOffsetMs).toBe(-5_000);
    expect(hellos).toBe(1);
  });

  it('reads put replies into outcomes: ok, unknown, transient errors unknown, refusals refused', async () => {
    const h = harness();
    const opId = opIdFrom(random.fill(new Uint8Array(16)));
    const answer = async (m: (requestId: number) => Message) => {
      const p = h.session.put(list(), new Uint8Array([1]), { opId, timeoutMs: 1_000 });
      h.reply(m(h.sent.at(-1)?.m.requestId ?? -1));
      return p;
    };
    expect(
      await answer((requestId) => ({ type: 'put-reply', requestId, outcome: 'ok', acks: 2, replicas: 3 })),
    ).toEqual({
      outcome: 'ok',
      acks: 2,
      replicas: 3,
    });
    expect(
      await answer((requestId) => ({
        type: 'put-reply',
        requestId,
        outcome: 'unknown',
        acks: 1,
        replicas: 3,
      })),
    ).toEqual({
      outcome: 'unknown',
      why: 'put-unknown',
      acks: 1,
      replicas: 3,
    });
    for (const code of ['deadline_exceeded', 'unavailable', 'overloaded', 'storage_failed'] as const)
      expect(await answer((requestId) => ({ type: 'error', requestId, code, message: 'x' }))).toMatchObject({
        outcome: 'unknown',
        why: code,
      });
    for (const code of ['refused', 'limit_exceeded', 'malformed'] as const)
      expect(await answer((requestId) => ({ type: 'error', requestId, code, message: 'no' }))).toEqual({
        outcome: 'refused',
        code,
        message: 'no',
      });
    expect(await answer((requestId) => ({ type: 'stats-reply', requestId, json: '{}' }))).toMatchObject({
      outcome: 'unknown',
      why: 'unexpected',
    });
    expect(h.session.counters.unexpected).toBe(1);
    expect(h.session.inFlight).toBe(0);
  });

  it('gives up at the deadline plus grace; a late reply is counted and changes nothing', async () => {
    const h = harness({ replyGraceMs: 300 });
    const p = h.session.put(list(), new Uint8Array([1]), {
      opId: opIdFrom(random.fill(new Uint8Array(16))),
      timeoutMs: 1_000,
    });
    const requestId = h.sent.at(-1)?.m.requestId ?? -1;
    let settled = false;
    void p.then(() => (settled = true));
    await h.advance(1_299);
    expect(settled).toBe(false);
    await h.advance(1);
    expect(await p).toEqual({ outcome: 'unknown', why: 'no-answer', acks: 0, replicas: 0 });
    h.reply({ type: 'put-reply', requestId, outcome: 'ok', acks: 2, replicas: 3 });
    expect(h.session.counters.lateReplies).toBe(1);
    expect(h.session.counters.noAnswer).toBe(1);
  });

  it('a get: its reply, no answer, an error; offline settles at once', async () => {
    const h = harness();
    const g = h.session.get(list(), new Uint8Array(0), { timeoutMs: 500 });
    const requestId = h.sent.at(-1)?.m.requestId ?? -1;
    h.reply({
      type: 'get-reply',
      requestId,
      delta: new Uint8Array([9]),
      answered: 2,
      inSync: 1,
      replicas: 3,
    });
    expect(await g).toEqual({
      outcome: 'ok',
      delta: new Uint8Array([9]),
      answered: 2,
      inSync: 1,
      replicas: 3,
    });
    const e = h.session.get(list(), new Uint8Array(0), { timeoutMs: 500 });
    h.reply({
      type: 'error',
      requestId: h.sent.at(-1)?.m.requestId ?? -1,
      code: 'unavailable',
      message: 'm',
    });
    expect(await e).toEqual({ outcome: 'error', code: 'unavailable', message: 'm' });
    h.setOnline(false);
    expect(await h.session.get(list(), new Uint8Array(0), { timeoutMs: 500 })).toEqual({
      outcome: 'no-answer',
    });
    expect(h.liveTimers()).toBe(0);
  });

  it('abandonAll settles every request in flight as unanswered (a dropped connection)', async () => {
    const h = harness();
    const a = h.session.put(list(), new Uint8Array([1]), {
      opId: opIdFrom(seq(1).fill(new Uint8Array(16))),
      timeoutMs: 9_000,
    });
    const b = h.session.get(list(), new Uint8Array(0), { timeoutMs: 9_000 });
    expect(h.session.inFlight).toBe(2);
    h.session.abandonAll();
    expect(await a).toMatchObject({ outcome: 'unknown', why: 'no-answer' });
    expect(await b).toEqual({ outcome: 'no-answer' });
    expect(h.liveTimers()).toBe(0);
  });

  it('request IDs in flight are distinct and never 0; a reply with ID 0 settles nothing', async () => {
    const h = harness();
    const ps = Array.from({ length: 5 }, () => h.session.get(list(), new Uint8Array(0), { timeoutMs: 100 }));
    const ids = h.sent.map((s) => s.m.requestId);
    expect(new Set(ids).size).toBe(5);
    expect(ids).not.toContain(0);
    h.reply({ type: 'error', requestId: 0, code: 'overloaded', message: 'watch cut' });
    expect(h.session.inFlight).toBe(5);
    await h.advance(100);
    for (const p of ps) expect(await p).toEqual({ outcome: 'no-answer' });
  });

  it('malformed frames and messages a client is never sent are counted and dropped', () => {
    const h = harness();
    h.session.receive(new Uint8Array([1, 2, 3]));
    h.session.receive(new Uint8Array(0));
    h.reply({ type: 'stats', requestId: 7 });
    expect(h.session.counters.malformed).toBe(2);
    expect(h.session.counters.unexpected).toBe(1);
  });

  it('changed notices reach every listener; one that throws does not stop the others', () => {
    const h = harness();
    const got: string[] = [];
    h.session.onChanged(() => {
      throw new Error('mine');
    });
    const stop = h.session.onChanged((id, d) => got.push(`${id}:${d.length}`));
    const id = list();
    h.reply({ type: 'changed', requestId: 0, listId: id, delta: new Uint8Array([1, 2]) });
    stop();
    h.reply({ type: 'changed', requestId: 0, listId: id, delta: new Uint8Array([1]) });
    expect(got).toEqual([`${id}:2`]);
    expect(h.session.counters.changedNotices).toBe(2);
  });

  it('the watch: replaces the set, lanes keep their lists, renewal every period, all lanes on renewWatch', async () => {
    const h = harness({ laneListsMax: 2, watchRenewMs: 15_000 });
    const ids = Array.from({ length: 5 }, (_, i) => newListId(seq(i + 3)));
    h.session.setWatched(ids.slice(0, 3));
    const watches = () =>
      h.sent
        .filter((s) => s.m.type === 'watch')
        .map((s) => ({ lane: s.lane, ids: s.m.type === 'watch' ? s.m.listIds : [] }));
    expect(watches()).toEqual([
      { lane: 0, ids: ids.slice(0, 2) },
      { lane: 1, ids: [ids[2]] },
    ]);
    h.sent.length = 0;
    // Dropping ids[0] and adding ids[3]: lane 0 changes (ids[3] takes the free place), lane 1 not.
    h.session.setWatched([ids[1], ids[2], ids[3]] as ListId[]);
    expect(watches()).toEqual([{ lane: 0, ids: [ids[1], ids[3]] }]);
    h.sent.length = 0;
    await h.advance(15_000);
    expect(watches().map((w) => w.lane)).toEqual([0, 1]);
    h.sent.length = 0;
    h.session.renewWatch();
    expect(watches().map((w) => w.lane)).toEqual([0, 1]);
    h.sent.length = 0;
    // Lane 1 emptied: told once (an empty set), then dropped.
    h.session.setWatched([ids[1], ids[3]] as ListId[]);
    expect(watches()).toEqual([{ lane: 1, ids: [] }]);
    h.sent.length = 0;
    h.session.renewWatch();
    expect(watches().map((w) => w.lane)).toEqual([0]);
    // Nothing watched: no renewal timer left.
    h.session.setWatched([]);
    h.sent.length = 0;
    await h.advance(60_000);
    expect(watches()).toEqual([]);
    expect(h.liveTimers()).toBe(0);
  });

  it('the watch set is capped at the given maximum', () => {
    const h = harness();
    h.session.setWatched(
      Array.from({ length: 5 }, (_, i) => newListId(seq(i))),
      3,
    );
    expect(h.session.watched).toHaveLength(3);
  });

  it('close settles requests, stops renewal, and later requests settle at once', async () => {
    const h = harness({ watchRenewMs: 1_000 });
    h.session.setWatched([list()]);
    const p = h.session.get(list(), new Uint8Array(0), { timeoutMs: 5_000 });
    h.session.close();
    expect(await p).toEqual({ outcome: 'no-answer' });
    expect(h.liveTimers()).toBe(0);
    expect(await h.session.get(list(), new Uint8Array(0), { timeoutMs: 5_000 })).toEqual({
      outcome: 'no-answer',
    });
  });

  it('ensureClock asks only when the offset is unknown or stale, and waits at most its bound', async () => {
    const h = harness();
    let done = false;
    const first = h.session.ensureClock(60_000, 500).then(() => (done = true));
    expect(h.sent.map((x) => x.m.type)).toEqual(['hello']);
    await h.advance(499);
    expect(done).toBe(false);
    await h.advance(1);
    await first;
    expect(h.session.clockOffsetMs).toBe(0); // no answer: requests go ahead with what is known
    const again = h.session.ensureClock(60_000, 500);
    const hello = h.sent.at(-1)?.m;
    h.reply({
      type: 'hello-reply',
      requestId: hello?.requestId ?? -1,
      version: 1,
      server: 'p',
      messageBytesMax: 0,
      wallMs: 1_700_000_000_000 + 1_500 + 250, // our clock reads 1 500 now
    });
    await again;
    expect(h.session.clockOffsetMs).toBe(250);
    h.sent.length = 0;
    await h.session.ensureClock(60_000, 500);
    expect(h.sent).toEqual([]); // known and fresh: nothing asked
  });

  it('forgetWatch drops the set without a word to the peer and stops renewing it', async () => {
    const h = harness({ watchRenewMs: 1_000 });
    h.session.setWatched([list()]);
    h.sent.length = 0;
    h.session.forgetWatch();
    expect(h.session.watched).toEqual([]);
    await h.advance(5_000);
    expect(h.sent).toEqual([]);
    h.session.renewWatch();
    expect(h.sent).toEqual([]);
  });
});
