// The operator page (operator.html, its own entry: nothing of it is in the shoppers' bundle). It
// listens to the gateway's snapshots (server-sent events at operator/events, behind the session
// the token opened: apps/web/server/operator.ts) and draws each: the ring as an SVG band of
// partitions coloured by owner, partitions being handed over pale with an inner arc in the colour
// of the node they leave; the nodes and their fronts; the health matrix; rates and latency. Plain
// DOM: the partitions' paths are made once and only repainted when their owner changes.

import type { NodeRow, Snapshot } from '../../server/operator-snapshot.ts';
import { NodeColours, arcPath } from './ring-geometry.ts';
import './operator.css';

const svgNs = 'http://www.w3.org/2000/svg';
const colours = new NodeColours();
const fmt = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
const time = new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit', second: '2-digit' });

const byId = <T extends Element>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`operator.html lacks #${id}`);
  return e as unknown as T;
};

const status = byId<HTMLElement>('status');
const ownersLayer = byId<SVGGElement>('ring-owners');
const leavingLayer = byId<SVGGElement>('ring-leaving');
let paths: SVGPathElement[] = [];

const show = (n: number | null): string => (n === null ? '–' : fmt.format(n));

function cell(row: HTMLTableRowElement, text: string, header = false): HTMLTableCellElement {
  const c = document.createElement(header ? 'th' : 'td');
  if (header) c.setAttribute('scope', 'row');
  c.textContent = text;
  row.append(c);
  return c;
}

function swatch(id: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = 'op-swatch';
  s.setAttribute('aria-hidden', 'true');
  s.style.background = colours.of(id);
  return s;
}

function nodeCell(row: HTMLTableRowElement, id: string): void {
  const c = cell(row, '', true);
  c.append(swatch(id), document.createTextNode(id));
}

function drawRing(s: Snapshot): void {
  const ring = s.ring;
  const centre = byId<SVGTextElement>('ring-centre');
  const centre2 = byId<SVGTextElement>('ring-centre2');
  if (ring === null) {
    ownersLayer.replaceChildren();
    leavingLayer.replaceChildren();
    paths = [];
    centre.textContent = 'no ring';
    centre2.textContent = '';
    return;
  }
  const q = ring.partitionCount;
  if (paths.length !== q) {
    paths = Array.from({ length: q }, (_, p) => {
      const path = document.createElementNS(svgNs, 'path');
      path.setAttribute('d', arcPath(p, q, 140, 190));
      path.dataset['partition'] = String(p);
      return path;
    });
    ownersLayer.replaceChildren(...paths);
  }
  const moving = new Map(s.moving.map((m) => [m.partition, m]));
  for (const [p, path] of paths.entries()) {
    const owner = ring.nodes[ring.owners[p] ?? -1]?.id ?? '?';
    if (path.dataset['owner'] !== owner) {
      path.dataset['owner'] = owner;
      path.setAttribute('fill', colours.of(owner));
    }
    path.classList.toggle('moving', moving.has(p));
  }
  leavingLayer.replaceChildren(
    ...s.moving.map((m) => {
      const arc = document.createElementNS(svgNs, 'path');
      arc.setAttribute('d', arcPath(m.partition, q, 118, 134));
      arc.setAttribute('fill', colours.of(m.from[0] ?? '?'));
      arc.dataset['leaving'] = String(m.partition);
      arc.dataset['from'] = m.from.join(' ');
      return arc;
    }),
  );
  centre.textContent = `ring v${ring.version}`;
  centre2.textContent = `${fmt.format(q)} partitions · N=${ring.replicas ?? '?'}`;
  const counts = ring.nodes.map(
    (n) => `${n.id} ${ring.owners.filter((o) => ring.nodes[o]?.id === n.id).length}`,
  );
  byId<SVGTitleElement>('ring-label').textContent =
    `Ring version ${ring.version}: ${q} partitions; owned: ${counts.join(', ')}` +
    (s.moving.length > 0 ? `; ${s.moving.length} being handed over` : '');
}

function drawSummary(s: Snapshot): void {
  const ring = s.ring;
  const versions = new Map<number, string[]>();
  for (const n of s.nodes)
    if (n.ringVersion !== null) versions.set(n.ringVersion, [...(versions.get(n.ringVersion) ?? []), n.id]);
  const agreement =
    ring === null
      ? 'No node has reported a ring.'
      : s.agreed
        ? `Every node that answered holds ring version ${ring.version}.`
        : `The nodes do not agree yet: ${[...versions]
            .sort((a, b) => b[0] - a[0])
            .map(([v, ids]) => `v${v} on ${ids.join(', ')}`)
            .join('; ')}.`;
  byId<HTMLElement>('ring-summary').textContent = agreement;
  const move = byId<HTMLElement>('move');
  move.hidden = s.move === null;
  if (s.move !== null) {
    byId<HTMLElement>('move-text').textContent =
      `${fmt.format(s.moving.length)} partitions are being handed over: ` +
      `${fmt.format(s.move.lists)} of ${fmt.format(s.move.listsAtStart)} lists still to move ` +
      `(${Math.round(s.move.progress * 100)}% done).`;
    byId<HTMLProgressElement>('move-progress').value = s.move.progress;
  }
}

function drawNodes(s: Snapshot): void {
  const body = byId<HTMLTableElement>('nodes').tBodies[0] as HTMLTableSectionElement;
  body.replaceChildren(
    ...s.nodes.map((n) => {
      const row = document.createElement('tr');
      row.dataset['node'] = n.id;
      if (!n.answered) row.className = 'op-silent';
      nodeCell(row, n.id);
      cell(row, n.inRing ? show(n.partitionsOwned) : 'not in the ring').dataset['partitions'] = String(
        n.inRing ? (n.partitionsOwned ?? '') : 0,
      );
      cell(row, n.answered ? show(n.lists) : 'no answer');
      cell(row, show(n.leavingLists));
      cell(row, show(n.hints));
      cell(row, show(n.ringVersion));
      cell(row, n.live === null ? 'unknown' : n.live ? 'live' : 'not live');
      const front = n.front;
      cell(
        row,
        front === null
          ? n.answered
            ? 'none'
            : '–'
          : `${show(front.watchClients)} watching ${show(front.watchedLists)} lists`,
      ).dataset['frontWatchers'] = String(front?.watchClients ?? '');
      return row;
    }),
  );
}

function drawHealth(s: Snapshot): void {
  const table = byId<HTMLTableElement>('health');
  const head = document.createElement('tr');
  const corner = document.createElement('td');
  head.append(corner);
  for (const id of s.health.ids) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.append(swatch(id), document.createTextNode(id));
    head.append(th);
  }
  (table.tHead as HTMLTableSectionElement).replaceChildren(head);
  (table.tBodies[0] as HTMLTableSectionElement).replaceChildren(
    ...s.health.ids.map((observer, i) => {
      const row = document.createElement('tr');
      nodeCell(row, observer);
      for (const seen of s.health.seen[i] ?? []) {
        const c = cell(row, seen === null ? '?' : seen === 'self' ? '—' : seen);
        c.className = `op-live-${seen ?? 'unknown'}`;
      }
      return row;
    }),
  );
}

function drawLoad(s: Snapshot): void {
  const rate = (n: NodeRow, k: keyof NonNullable<NodeRow['rates']>): string =>
    n.rates === null ? '–' : fmt.format(n.rates[k]);
  const body = byId<HTMLTableElement>('load').tBodies[0] as HTMLTableSectionElement;
  body.replaceChildren(
    ...s.nodes.map((n) => {
      const row = document.createElement('tr');
      nodeCell(row, n.id);
      for (const k of ['puts', 'gets'] as const) cell(row, rate(n, k));
      cell(row, show(n.front?.requestsPerSecond ?? null));
      cell(row, show(n.front?.noticesPerSecond ?? null));
      for (const k of [
        'replicaWrites',
        'readRepairs',
        'antiEntropyRepairs',
        'hintedWrites',
        'hintsDelivered',
      ] as const)
        cell(row, rate(n, k));
      cell(row, show(n.putP50Ms));
      cell(row, show(n.putP99Ms));
      return row;
    }),
  );
  const t = s.totals;
  byId<HTMLElement>('totals').dataset['hints'] = String(t.hints);
  byId<HTMLElement>('totals').textContent =
    `Cluster: ${fmt.format(t.requestsPerSecond)} puts and gets a second, ${fmt.format(t.repairsPerSecond)} ` +
    `repairs a second, ${fmt.format(t.hints)} hints waiting, slowest node's put p99 ${show(t.putP99Ms)} ms. ` +
    `At the nodes' fronts: ${fmt.format(t.frontRequestsPerSecond)} puts and gets a second, ` +
    `${fmt.format(t.frontWatchClients)} clients watching.`;
}

function drawProblems(s: Snapshot): void {
  byId<HTMLElement>('problems-section').hidden = s.problems.length === 0;
  byId<HTMLUListElement>('problems').replaceChildren(
    ...s.problems.map((p) => {
      const li = document.createElement('li');
      li.textContent = p;
      return li;
    }),
  );
}

function draw(s: Snapshot): void {
  // Colours in the order nodes are listed the first time, so n1, n2, … get the palette in order.
  for (const n of s.nodes) colours.of(n.id);
  drawRing(s);
  drawSummary(s);
  drawNodes(s);
  drawHealth(s);
  drawLoad(s);
  drawProblems(s);
  document.body.dataset['ringVersion'] = String(s.ring?.version ?? 0);
  status.textContent = `Live · updated ${time.format(s.wallMs)}`;
}

const events = new EventSource('operator/events');
events.addEventListener('snapshot', (e) => {
  try {
    draw(JSON.parse((e as MessageEvent<string>).data) as Snapshot);
  } catch (error) {
    status.textContent = `Could not draw the last update: ${String(error)}`;
  }
});
events.addEventListener('error', () => {
  status.textContent =
    events.readyState === EventSource.CLOSED
      ? 'Disconnected: reload the page (sign in again if asked).'
      : 'Reconnecting…';
});
