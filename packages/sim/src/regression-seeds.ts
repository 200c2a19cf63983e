// Seeds that expose real bugs found during development, with what each found. They run in
// sim.test.ts on every `npm test` (and in `npm run sim`), so each bug stays fixed. Append; never
// remove. A seed replays only with the simulator as it was; each seed here was checked against
// the final simulator by putting its bug back (patching the old code into StorageNode) and seeing
// the run fail. The seed that first exposed a bug, with an earlier simulator, is named too.

export interface RegressionSeed {
  seed: number;
  found: string;
}

export const regressionSeeds: readonly RegressionSeed[] = [
  {
    seed: 1000,
    found:
      'storage-node: with fewer healthy targets than W (or R), a coordinator dropped the request once every target had answered, so the client never heard "unknown" (or an error) — protocol check; first exposed by seed 1904041406',
  },
  {
    seed: 125889356,
    found:
      'storage-node: anti-entropy walked every replicated partition, empty or not, one per interval; with Q=1024 a replica that missed a write stayed behind for many minutes — liveness',
  },
  {
    seed: 346,
    found:
      "storage-node: read repair sent missingFor(merged, the replica's answer); landing on a replica that had since dropped its (fallback) copy, it recreated a copy whose context claimed values it lacked, and transfers spread that: cloud-ok writes lost — intent and durability checks; first exposed by seed 3263977273",
  },
  {
    seed: 1109,
    found:
      'storage-node: a hinted-put to a node that had no ring yet (wiped, or newly added) threw inside storeWrite, leaving a rejected promise unhandled: a crash of the node process — unhandled rejection; first exposed by seed 1045',
  },
  {
    seed: 200432,
    found:
      "trolley-client: live updates show a change before it is durable; two devices each acted on the other's, a coordinator crash lost both originals, and each device's outbox, coalesced into one entry, claimed the other's change: refused for ever, never converged (outbox-runs.ts now cuts runs) — liveness",
  },
  {
    seed: 201205,
    found: 'the same outbox deadlock as seed 200432, after a remove-node ring change — liveness',
  },
];

/** Seeds run on every test besides the regression seeds: a stable baseline. */
export const fixedSeeds: readonly number[] = Array.from({ length: 120 }, (_, i) => i + 1);
