// Membership and failure detection (Dynamo §4.8; heartbeats in the style of gossip-based
// failure detectors, with suspicion before "down" as in SWIM). Every node keeps a view of all
// members: an address and a heartbeat counter that only its owner increases, once per gossip
// round. Views are merged by taking the higher heartbeat per member (a state-based CRDT: the
// merge is commutative, associative and idempotent), so gossip converges whatever the order.
//
// Liveness is local: a member whose heartbeat has not gone up for suspectAfterMs (on this node's
// monotonic clock) is suspect; after downAfterMs it is down. Suspect members still get requests;
// down ones are skipped (sloppy quorum) until their heartbeat rises again — a restarted node
// rejoins by gossiping a heartbeat above its old one (it starts from the wall clock).
//
// What a gossip may change (Trust part 2): the transport authenticates the sender, but a view
// also speaks for third parties. So a third party may introduce a member we have no address for,
// while a known member's address changes only by that member's own word (its entry in its own
// gossip); a heartbeat above the receiver's wall clock plus a bound is refused — it could only be
// forged, and would keep a dead member alive (or, for ours, lift it where our own beats never
// reach it again); and members the keyring does not know are not taken in at all.

export type Liveness = 'alive' | 'suspect' | 'down';

export interface MemberInfo {
  id: string;
  address: string;
  heartbeat: number;
}

interface Entry extends MemberInfo {
  /** When (monotonic ms) this node last saw the heartbeat go up. */
  seenMs: number;
}

export interface MembershipConfig {
  suspectAfterMs: number;
  downAfterMs: number;
}

/** Who gossiped a view, and what the receiver accepts from it. */
export interface MergeSource {
  /** The sender's ID, as the transport authenticated it. */
  sender: string;
  /** Heartbeats above this are refused: the receiver's wall clock (ms) plus heartbeatAheadMsMax. */
  heartbeatMax: number;
  /** Whether an ID is a member at all (the keyring); others are refused. */
  isMember: (id: string) => boolean;
}

export interface MergeOutcome {
  changed: boolean;
  /** Entries skipped for a heartbeat above heartbeatMax. */
  heartbeatsRefused: number;
  /** Entries skipped for an ID that is not a member. */
  membersRefused: number;
}

export class Membership {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly self: MemberInfo,
    private readonly config: MembershipConfig,
    nowMs: number,
  ) {
    this.entries.set(self.id, { ...self, seenMs: nowMs });
  }

  /** Raises this node's own heartbeat (once per gossip round). */
  beat(nowMs: number): void {
    const me = this.entries.get(this.self.id) as Entry;
    me.heartbeat++;
    me.seenMs = nowMs;
  }

  /**
   * Merges the view gossiped by `from.sender` (authenticated by the transport). Entries the rules
   * above refuse are skipped and counted in the outcome; the rest merge as before.
   */
  merge(view: readonly MemberInfo[], nowMs: number, from: MergeSource): MergeOutcome {
    const out: MergeOutcome = { changed: false, heartbeatsRefused: 0, membersRefused: 0 };
    for (const m of view) {
      if (m.heartbeat > from.heartbeatMax) {
        out.heartbeatsRefused++;
        continue;
      }
      if (m.id === this.self.id) {
        // Someone remembers a higher heartbeat of ours (we restarted): jump above it.
        const me = this.entries.get(m.id) as Entry;
        if (m.heartbeat >= me.heartbeat) {
          me.heartbeat = m.heartbeat + 1;
          out.changed = true;
        }
        continue;
      }
      if (!from.isMember(m.id)) {
        out.membersRefused++;
        continue;
      }
      const known = this.entries.get(m.id);
      if (known === undefined) {
        // First introduction: anyone may tell us where a member we have never heard of is.
        this.entries.set(m.id, { ...m, seenMs: nowMs });
        out.changed = true;
      } else if (m.heartbeat > known.heartbeat) {
        known.heartbeat = m.heartbeat;
        if (m.id === from.sender) known.address = m.address;
        known.seenMs = nowMs;
        out.changed = true;
      }
    }
    return out;
  }

  /**
   * Adds a member known from configuration (seeds, a ring change). It is presumed alive until it
   * has been silent for downAfterMs, like any member.
   */
  introduce(id: string, address: string, nowMs: number): void {
    if (!this.entries.has(id)) this.entries.set(id, { id, address, heartbeat: 0, seenMs: nowMs });
  }

  liveness(id: string, nowMs: number): Liveness {
    if (id === this.self.id) return 'alive';
    const e = this.entries.get(id);
    if (e === undefined) return 'down';
    const silent = nowMs - e.seenMs;
    if (silent < this.config.suspectAfterMs) return 'alive';
    if (silent < this.config.downAfterMs) return 'suspect';
    return 'down';
  }

  isDown(id: string, nowMs: number): boolean {
    return this.liveness(id, nowMs) === 'down';
  }

  address(id: string): string | undefined {
    return this.entries.get(id)?.address;
  }

  view(): MemberInfo[] {
    return [...this.entries.values()].map(({ id, address, heartbeat }) => ({ id, address, heartbeat }));
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** Members other than this node, for choosing a gossip partner. */
  others(): string[] {
    return this.ids().filter((id) => id !== this.self.id);
  }
}
