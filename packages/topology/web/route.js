// The shape of one edge on screen: a path and an arrowhead, both sized to the line's width.
//
// dagre gives each edge a polyline that starts and ends where the straight line to the next point
// leaves the node's box; with a steep first segment that is the box's bottom, and the line then runs
// across the boxes beside it in the same rank. So a forward edge here leaves its source by the side
// that faces the next rank and enters its target by the opposite side, and curves between dagre's
// inner points (labels, dummy nodes in the ranks between) with tangents along the rank axis, which
// keeps every segment inside the gaps between ranks. Edges dagre had to turn around (the way back of
// a cycle) keep dagre's own polyline, smoothed.

/** Returns `draw(lineWidth) -> { line, head }`: SVG path data for the edge's line and its arrowhead. */
export function route(g, from, to, layout, rankdir) {
  const a = g.node(from);
  const b = g.node(to);
  const across = rankdir === 'LR' ? 'x' : 'y';
  const size = across === 'x' ? 'width' : 'height';
  const forward = b[across] - b[size] / 2 > a[across] + a[size] / 2;
  if (!forward) {
    const points = layout.points;
    const end = points[points.length - 1];
    const before = points[points.length - 2] ?? end;
    return (lineWidth) => {
      const head = arrowhead(end, before, lineWidth);
      return { line: smooth([...points.slice(0, -1), head.base]), head: head.d };
    };
  }
  const start = { ...point(a), [across]: a[across] + a[size] / 2 };
  const end = { ...point(b), [across]: b[across] - b[size] / 2 };
  const inner = layout.points.slice(1, -1);
  return (lineWidth) => {
    const head = arrowhead(end, { ...end, [across]: end[across] - 1 }, lineWidth);
    return { line: ports([start, ...inner, head.base], across), head: head.d };
  };
}

function point(node) {
  return { x: node.x, y: node.y };
}

/** Cubic curves from point to point, each leaving and arriving along `axis` ('x' or 'y'). */
function ports(points, axis) {
  const [first, ...rest] = points;
  let d = `M${first.x},${first.y}`;
  let p = first;
  for (const q of rest) {
    const half = (q[axis] - p[axis]) / 2;
    const c1 = { ...p, [axis]: p[axis] + half };
    const c2 = { ...q, [axis]: q[axis] - half };
    d += ` C${c1.x},${c1.y} ${c2.x},${c2.y} ${q.x},${q.y}`;
    p = q;
  }
  return d;
}

/** Straight to the first point, then quadratic curves through the midpoints between the others. */
function smooth(points) {
  const [first, ...rest] = points;
  let d = `M${first.x},${first.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i];
    const q = rest[i + 1];
    d += ` Q${p.x},${p.y} ${(p.x + q.x) / 2},${(p.y + q.y) / 2}`;
  }
  const last = rest[rest.length - 1];
  if (last) d += ` L${last.x},${last.y}`;
  return d;
}

/**
 * A triangle with its tip at `tip` (on the target's border), pointing away from `from`, larger for a
 * thicker line so it stays visible; `base` is where the line should stop, inside the triangle, so a
 * thick line's end does not poke out of the tip.
 */
function arrowhead(tip, from, lineWidth) {
  const length = Math.hypot(tip.x - from.x, tip.y - from.y) || 1;
  const ux = (tip.x - from.x) / length;
  const uy = (tip.y - from.y) / length;
  const depth = 8 + lineWidth * 1.2;
  const half = lineWidth / 2 + 4;
  const bx = tip.x - ux * depth;
  const by = tip.y - uy * depth;
  return {
    d: `M${tip.x},${tip.y} L${bx - uy * half},${by + ux * half} L${bx + uy * half},${by - ux * half} Z`,
    base: { x: tip.x - ux * depth * 0.7, y: tip.y - uy * depth * 0.7 },
  };
}
