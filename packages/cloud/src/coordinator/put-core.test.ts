import { describe, expect, it } from 'vitest';
import { putAck, putDeadline, putNack, putTally } from './put-core.ts';

describe('put core: W acknowledgements or unknown', () => {
  it('answers ok at the W-th ack, once, and is done when all targets answered', () => {
    let s = putAck(putTally(2, 3));
    expect(s.answer).toBeUndefined();
    s = putAck(s.tally);
    expect([s.answer, s.done]).toEqual(['ok', false]);
    s = putAck(s.tally);
    expect([s.answer, s.done, s.tally.acks]).toEqual([undefined, true, 3]);
  });

  it('answers unknown as soon as W can no longer be reached', () => {
    let s = putNack(putTally(2, 3));
    expect(s.answer).toBeUndefined();
    s = putNack(s.tally);
    expect([s.answer, s.done]).toEqual(['unknown', false]);
    s = putAck(s.tally);
    expect([s.answer, s.done]).toEqual([undefined, true]); // never ok after unknown
  });

  it('fewer targets than W: unknown once they have all acknowledged', () => {
    const s = putAck(putTally(2, 1));
    expect([s.answer, s.done]).toEqual(['unknown', true]);
  });

  it('no target at all: the first nack says unknown', () => {
    expect(putNack(putTally(2, 0)).answer).toBe('unknown');
  });

  it('the deadline says unknown unless already answered', () => {
    expect(putDeadline(putTally(2, 3)).answer).toBe('unknown');
    const ok = putAck(putAck(putTally(2, 3)).tally);
    expect(putDeadline(ok.tally).answer).toBeUndefined();
  });
});
