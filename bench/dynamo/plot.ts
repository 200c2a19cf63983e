// bench:dynamo's plots: Vega-Lite specifications compiled and rendered to SVG by vega in Node
// (no canvas: renderer 'none' and toSVG), then rasterised to PNG by @resvg/resvg-js (whose
// platform binaries are npm packages). Every plot shows the faults as shaded spans and the moment
// the cluster had converged after each as a dashed rule.

import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterPoint, FaultSpan, LatencyPoint } from './series.ts';

/** The layers that mark the faults: a shaded span each, its label, and a rule at convergence. */
function faultLayers(faults: readonly FaultSpan[]): Record<string, unknown>[] {
  const spans = faults.map((f) => ({ label: f.label, start: f.start, end: f.end }));
  const converged = faults.flatMap((f) =>
    f.converged === undefined
      ? []
      : [{ t: f.converged, label: `${f.label}: converged ${(f.converged - f.end).toFixed(1)} s after` }],
  );
  const notConverged = faults.flatMap((f) =>
    f.converged === undefined ? [{ t: f.end, label: 'no convergence seen before the next step' }] : [],
  );
  return [
    {
      data: { values: spans },
      mark: { type: 'rect', color: '#d62728', opacity: 0.12 },
      encoding: { x: { field: 'start', type: 'quantitative' }, x2: { field: 'end' } },
    },
    {
      data: { values: spans },
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 3, fontSize: 10, color: '#a01010' },
      encoding: { x: { field: 'start', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
    },
    {
      data: { values: converged },
      mark: { type: 'rule', strokeDash: [4, 3], color: '#2ca02c' },
      encoding: { x: { field: 't', type: 'quantitative' } },
    },
    {
      data: { values: converged },
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 16, fontSize: 10, color: '#1a701a' },
      encoding: { x: { field: 't', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
    },
    {
      data: { values: notConverged },
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 16, fontSize: 10, color: '#a01010' },
      encoding: { x: { field: 't', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
    },
  ];
}

export interface LinePlot {
  title: string;
  yTitle: string;
  /** Rows with t (seconds), y and series (the line's name); NaN values are left out. */
  rows: { t: number; y: number; series: string }[];
  faults: readonly FaultSpan[];
  logY?: boolean;
}

/** The Vega-Lite specification of a line plot over time with its faults marked. */
export function lineSpec(p: LinePlot, width = 760, height = 220): TopLevelSpec {
  const rows = p.rows.filter((r) => Number.isFinite(r.y) && (!p.logY || r.y > 0));
  const lines = {
    data: { values: rows },
    mark: { type: 'line', point: { size: 12 }, strokeWidth: 1.5 },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'seconds since the load started' },
      y: {
        field: 'y',
        type: 'quantitative',
        title: p.yTitle,
        ...(p.logY === true ? { scale: { type: 'log' } } : {}),
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: null,
        legend: { orient: 'bottom', labelLimit: 400 },
      },
    },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: p.title,
    width,
    height,
    background: 'white',
    layer: [...faultLayers(p.faults), lines],
    config: { font: 'DejaVu Sans' },
  } as unknown as TopLevelSpec;
}

/** Several specifications one above the other, sharing nothing but the page. */
export function stacked(title: string, specs: readonly TopLevelSpec[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    vconcat: specs.map((s) => {
      const {
        $schema: _schema,
        background: _background,
        config: _config,
        ...rest
      } = s as unknown as Record<string, unknown>;
      return rest;
    }),
    config: { font: 'DejaVu Sans' },
  } as unknown as TopLevelSpec;
}

/** The specification rendered to SVG, then to PNG (2× for legibility). */
export async function renderPng(spec: TopLevelSpec): Promise<Buffer> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  return Buffer.from(png);
}

/** What the plots are drawn from (and what series.json keeps, so they can be drawn again). */
export interface Figures {
  windowS: number;
  nodes: number;
  faults: FaultSpan[];
  latency: LatencyPoint[];
  cluster: ClusterPoint[];
}

/**
 * Draws latency.png, failures.png, divergence.png, hints.png and imbalance.png into `outDir`; returns their
 * names. A second in which no node answered its scrape has no hints point (not a 0), and one in
 * which fewer than two did has no imbalance point (a ratio of one node to itself says nothing).
 */
export async function drawPlots(f: Figures, outDir: string): Promise<string[]> {
  const { faults, latency, cluster } = f;
  const latencyRows = (kind: 'read' | 'write'): { t: number; y: number; series: string }[] =>
    latency
      .filter((p) => p.kind === kind)
      .flatMap((p) => [
        { t: p.t, y: p.p50, series: 'p50' },
        { t: p.t, y: p.p99, series: 'p99' },
        { t: p.t, y: p.p999, series: 'p99.9' },
      ]);
  const seen = cluster.filter((p) => p.nodesSeen > 0);
  const several = cluster.filter((p) => p.nodesSeen >= 2);
  const plots: Record<string, TopLevelSpec> = {
    'latency.png': stacked(`Latency over time (${f.windowS} s windows), ${f.nodes} nodes, N=3 R=2 W=2`, [
      lineSpec({ title: 'reads (get)', yTitle: 'ms (log)', rows: latencyRows('read'), faults, logY: true }),
      lineSpec({
        title: 'writes (put, cloud-ok)',
        yTitle: 'ms (log)',
        rows: latencyRows('write'),
        faults,
        logY: true,
      }),
    ]),
    'failures.png': lineSpec({
      title: `Requests that failed (not answered ok within 5 s), share per ${f.windowS} s window`,
      yTitle: 'share of requests',
      rows: latency.map((p) => ({
        t: p.t,
        y: p.count === 0 ? Number.NaN : p.failed / p.count,
        series: p.kind === 'read' ? 'reads' : 'writes',
      })),
      faults,
    }),
    'divergence.png': lineSpec({
      title: 'Reads that saw divergent replicas (share of client gets, per second)',
      yTitle: 'share of gets',
      rows: seen.map((p) => ({
        t: p.t,
        y: p.divergentShare,
        series: 'gets with a replica lacking part of the merged state',
      })),
      faults,
    }),
    'hints.png': lineSpec({
      title: 'Hints waiting (sum over the nodes that answered)',
      yTitle: 'hints',
      rows: seen.map((p) => ({ t: p.t, y: p.hintsWaiting, series: 'hints waiting' })),
      faults,
    }),
    'imbalance.png': lineSpec({
      title: 'Load imbalance per second (requests handled per node)',
      yTitle: 'ratio / share',
      rows: several.flatMap((p) => [
        { t: p.t, y: p.imbalance, series: 'largest node ÷ mean' },
        { t: p.t, y: p.outOfBalance, series: 'share of nodes > 15% off the mean' },
        { t: p.t, y: p.listsImbalance, series: 'lists held: largest ÷ mean' },
      ]),
      faults,
    }),
  };
  for (const [name, spec] of Object.entries(plots)) writeFileSync(join(outDir, name), await renderPng(spec));
  return Object.keys(plots);
}
