// The quorum of a write (Dynamo §4.5), pure, as riak_kv_put_core: acknowledgements and failures
// of the targets in, a decision out. cloud-ok after W commits; "unknown" once W can no longer be
// reached or the deadline passes — never "failed": some replicas may have applied the write.

export interface PutTally {
  readonly w: number;
  readonly acks: number;
  /** Targets that have not answered yet. */
  readonly outstanding: number;
  /** Whether the caller has been answered (ok or unknown). */
  readonly replied: boolean;
}

/** What the coordinator does after a step: answer the caller (at most once), and whether all answered. */
export interface PutStep {
  tally: PutTally;
  answer: 'ok' | 'unknown' | undefined;
  /** Every target has answered: nothing more will come. */
  done: boolean;
}

export function putTally(w: number, targets: number): PutTally {
  return { w, acks: 0, outstanding: targets, replied: false };
}

/** A target committed the write. */
export function putAck(t: PutTally): PutStep {
  const acks = t.acks + 1;
  const outstanding = t.outstanding - 1;
  let answer: PutStep['answer'];
  if (!t.replied && acks >= t.w) answer = 'ok';
  // Every target has answered and fewer than W acknowledged (fewer targets than W were
  // healthy): the outcome stays unknown, and the caller must hear so, now, as in putNack.
  else if (!t.replied && outstanding <= 0) answer = 'unknown';
  return step({ ...t, acks, outstanding }, answer);
}

/** A target failed or refused the write. */
export function putNack(t: PutTally): PutStep {
  const outstanding = t.outstanding - 1;
  // Not enough targets left to reach W: the outcome stays unknown (some may have applied it).
  const answer = !t.replied && t.acks + Math.max(0, outstanding) < t.w ? 'unknown' : undefined;
  return step({ ...t, outstanding }, answer);
}

/** The deadline passed: unknown, unless already answered. */
export function putDeadline(t: PutTally): PutStep {
  return { tally: { ...t, replied: true }, answer: t.replied ? undefined : 'unknown', done: true };
}

function step(t: PutTally, answer: PutStep['answer']): PutStep {
  return {
    tally: answer === undefined ? t : { ...t, replied: true },
    answer,
    done: t.outstanding <= 0,
  };
}
