// "Did you mean …?" for a mistyped command or list title: the closest candidate by edit distance
// (Damerau–Levenshtein, adjacent swaps count as one), if it is close enough to be a typo.

/** Edits between `a` and `b` (insert, delete, substitute, swap two neighbours). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      let best = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = best;
    }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The candidates closest to `typed` (case-insensitive), nearest first: within 1 edit for short
 * words, 2 from 5 letters, a third of the length beyond; or those `typed` is a prefix of.
 */
export function didYouMean(typed: string, candidates: readonly string[], max = 3): string[] {
  const word = typed.trim().toLowerCase();
  if (word === '') return [];
  const allowed = word.length < 5 ? 1 : Math.max(2, Math.floor(word.length / 3));
  const scored: [string, number][] = [];
  for (const c of new Set(candidates)) {
    const lower = c.toLowerCase();
    if (lower === word) continue;
    const distance = lower.startsWith(word) && word.length >= 3 ? 0.5 : editDistance(word, lower);
    if (distance <= allowed) scored.push([c, distance]);
  }
  return scored
    .sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1))
    .slice(0, max)
    .map(([c]) => c);
}
