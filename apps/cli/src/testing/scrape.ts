// Reads a process's Prometheus metrics over HTTP (GET /metrics) and parses the text exposition
// (format 0.0.4) strictly, for the real-process tests: every line must be a HELP, a TYPE or a
// sample of the grammar, every sample must belong to a family declared before it (with the
// suffixes its type allows), and every histogram must be one (buckets that never decrease, the
// +Inf bucket equal to the count). A malformed exposition throws. (parse-prometheus-text-format,
// the npm parser, drops the labels of labelled histograms, so it cannot check ours.)

interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

interface Sample {
  /** The sample's own name: the family's, or with _bucket, _sum, _count. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/;
const labelRe = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/;

/**
 * A sample value, read as Prometheus reads it (Go's strconv.ParseFloat: Inf and NaN in any case;
 * prom-client writes an event-loop figure with no measurement since the last scrape as `Nan`).
 */
function parseValue(text: string, line: string): number {
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`not a number in: ${line}`);
  return n;
}

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === undefined || text === '') return labels;
  // Split on commas outside quoted values.
  const parts = text.match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? [];
  if (parts.join(',') !== text.replace(/,$/, '')) throw new Error(`bad labels in: ${line}`);
  for (const p of parts) {
    const m = labelRe.exec(p);
    if (m === null) throw new Error(`bad label ${p} in: ${line}`);
    labels[m[1] as string] = (m[2] as string).replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
  }
  return labels;
}

/** The exposition, parsed strictly (throws on anything outside the format). */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      const [, what, name, rest] = meta as unknown as [string, string, string, string];
      if (!nameRe.test(name)) throw new Error(`bad metric name in: ${line}`);
      let f = families.get(name);
      if (f === undefined) {
        f = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, f);
      } else if (f.samples.length > 0) throw new Error(`${what} after samples of ${name}`);
      if (what === 'HELP') f.help = rest;
      else if (['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) f.type = rest;
      else throw new Error(`bad type in: ${line}`);
      current = f;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = sampleRe.exec(line);
    if (m === null) throw new Error(`not a sample: ${line}`);
    const name = m[1] as string;
    if (current === undefined) throw new Error(`a sample before any family: ${line}`);
    const suffix = name.slice(current.name.length);
    const allowed =
      current.type === 'histogram'
        ? ['_bucket', '_sum', '_count']
        : current.type === 'summary'
          ? ['', '_sum', '_count']
          : [''];
    if (!name.startsWith(current.name) || !allowed.includes(suffix))
      throw new Error(`sample ${name} does not belong to ${current.type} ${current.name}`);
    current.samples.push({ name, labels: parseLabels(m[2], line), value: parseValue(m[3] as string, line) });
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** Each series of a histogram: buckets never decrease, and the +Inf bucket is the count. */
function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let x = series.get(key);
    if (x === undefined) series.set(key, (x = { buckets: [] }));
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${s.name} without le`);
      x.buckets.push([parseValue(le, s.name), s.value]);
    } else if (s.name.endsWith('_count')) x.count = s.value;
  }
  for (const [key, x] of series) {
    const sorted = [...x.buckets].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++)
      if ((sorted[i]?.[1] ?? 0) < (sorted[i - 1]?.[1] ?? 0))
        throw new Error(`${f.name}${key}: a bucket decreases`);
    const inf = sorted.at(-1);
    if (inf?.[0] !== Infinity || inf[1] !== x.count) throw new Error(`${f.name}${key}: +Inf bucket ≠ count`);
  }
}

export class Scrape {
  private constructor(
    readonly text: string,
    readonly families: ReadonlyMap<string, Family>,
  ) {}

  /** GETs `url` (http://host:port/metrics) and parses it; throws on a status other than 200. */
  static async of(url: string): Promise<Scrape> {
    const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
    const contentType = res.headers.get('content-type') ?? '';
    if (!contentType.startsWith('text/plain')) throw new Error(`${url}: content type ${contentType}`);
    const text = await res.text();
    return new Scrape(text, parseExposition(text));
  }

  /** The family's type (counter, gauge, histogram…); throws if the exposition has no such family. */
  type(name: string): string {
    return this.family(name).type;
  }

  /**
   * The sum of the family's samples whose labels include `labels` (0 if none matches); for a
   * histogram, the sum of the matching series' counts (its observations).
   */
  value(name: string, labels: Record<string, string> = {}): number {
    const f = this.family(name);
    const own = f.type === 'histogram' ? `${name}_count` : name;
    let total = 0;
    for (const s of f.samples)
      if (s.name === own && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
    return total;
  }

  private family(name: string): Family {
    const f = this.families.get(name);
    if (f === undefined) throw new Error(`no metric ${name} in the exposition`);
    return f;
  }
}
