// The operator page's ring drawing, as pure geometry: partition i of q is an arc of a band between
// two radii, clockwise from the top (position 0 of the ring at twelve o'clock), and each node keeps
// one colour for the life of the page (the order it was first seen in), so a ring change does not
// repaint the nodes that stay.

/** The SVG path of partition `i` of `q`: a slice of the band between radii `inner` and `outer`. */
export function arcPath(i: number, q: number, inner: number, outer: number, cx = 200, cy = 200): string {
  // A whole circle (q = 1) cannot be one arc: leave a hair's gap.
  const turn = 2 * Math.PI;
  const a0 = (i / q) * turn - Math.PI / 2;
  const a1 = ((i + 1) / q) * turn - Math.PI / 2 - (q === 1 ? 1e-4 : 0);
  const large = a1 - a0 > Math.PI ? 1 : 0;
  const p = (r: number, a: number): string =>
    `${(cx + r * Math.cos(a)).toFixed(2)} ${(cy + r * Math.sin(a)).toFixed(2)}`;
  return (
    `M${p(outer, a0)}A${outer} ${outer} 0 ${large} 1 ${p(outer, a1)}` +
    `L${p(inner, a1)}A${inner} ${inner} 0 ${large} 0 ${p(inner, a0)}Z`
  );
}

/** Ten colours told apart also by most colour-blind eyes (Tableau 10); then hues by the golden angle. */
const palette = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

/** A colour per node ID, fixed on first sight. */
export class NodeColours {
  private readonly colours = new Map<string, string>();

  of(id: string): string {
    let c = this.colours.get(id);
    if (c === undefined) {
      const n = this.colours.size;
      c = palette[n] ?? `hsl(${Math.round((n * 137.508) % 360)} 55% 55%)`;
      this.colours.set(id, c);
    }
    return c;
  }
}
