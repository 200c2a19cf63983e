// Draws bench:dynamo's plots again from a run's series.json (`npm run dynamo:replot -w bench
// [-- FILE]`, default artifacts/bench/dynamo/series.json), into the file's folder, without running
// the cluster: for changing how the figures look.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drawPlots, type Figures } from './plot.ts';

const file = resolve(
  process.argv[2] ?? fileURLToPath(new URL('../../artifacts/bench/dynamo/series.json', import.meta.url)),
);
// JSON has no NaN: the run wrote null for a figure with no value, which the plots leave out.
const figures = JSON.parse(readFileSync(file, 'utf8')) as Figures;
const plots = await drawPlots(figures, dirname(file));
process.stderr.write(`[bench:dynamo] drew ${plots.join(', ')} in ${dirname(file)} from ${file}\n`);
