/* global dagre, ResizeObserver */
// The topology as an SVG graph laid out by dagre: queues and workers as boxes, inputs and outputs as
// arrows whose width and label follow messages/s. Layout runs only when the shape changes (nodes,
// edges, replica counts); every other update just rewrites texts, so the picture holds still.
import { faults, rate } from './format.js';
import { QUEUE_SIZE, WORKER_WIDTH, drawQueue, drawWorker, workerHeight } from './nodes.js';
import { route } from './route.js';
import { el, setText, text } from './svg.js';

const LABEL_HEIGHT = 22;

/** Everything that changes the layout, as one comparable string. */
function shapeOf(snapshot) {
  return JSON.stringify([
    snapshot.queues.map((q) => q.name),
    snapshot.workers.map((w) => [w.name, w.replicas.length]),
    snapshot.edges.map((e) => [e.id, e.kind, faults(e.faults)]),
  ]);
}

/** Queues and workers may share a name; edge kinds tell which is which (input: queue -> worker). */
const queueId = (name) => `q:${name}`;
const workerId = (name) => `w:${name}`;
function endpoints(edge) {
  return edge.kind === 'input' ? [queueId(edge.from), workerId(edge.to)] : [workerId(edge.from), queueId(edge.to)];
}

/** Thicker with more traffic, on a log scale so 10 and 10000 msg/s are both visible. */
function strokeWidth(perSecond) {
  return 1.5 + Math.min(7, Math.log10(1 + Math.max(0, perSecond)) * 2.2);
}

/** A dagre graph of the snapshot, laid out in direction `rankdir`. */
function layOut(snapshot, rankdir) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir, nodesep: 36, ranksep: 48, edgesep: 24, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const q of snapshot.queues) g.setNode(queueId(q.name), { ...QUEUE_SIZE });
  for (const w of snapshot.workers) g.setNode(workerId(w.name), { width: WORKER_WIDTH, height: workerHeight(w.replicas.length) });
  for (const e of snapshot.edges) {
    const [from, to] = endpoints(e);
    if (!g.hasNode(from) || !g.hasNode(to)) continue;
    const faulty = faults(e.faults) !== '';
    // dagre keeps room for the label between the two ranks, so labels never sit on a box.
    g.setEdge(from, to, { width: faulty ? 150 : 96, height: faulty ? LABEL_HEIGHT * 2 : LABEL_HEIGHT, labelpos: 'c' }, e.id);
  }
  dagre.layout(g);
  return g;
}

export class GraphView {
  constructor(svg) {
    this.svg = svg;
    this.shape = '';
    this.updates = new Map();
    this.size = { width: 0, height: 0 };
    this.last = null;
    new ResizeObserver(() => {
      // The best direction depends on the panel's shape: lay out again for the new one.
      this.shape = '';
      if (this.last) this.update(this.last);
    }).observe(svg);
  }

  update(snapshot) {
    this.last = snapshot;
    const shape = shapeOf(snapshot);
    if (shape !== this.shape) {
      this.shape = shape;
      this.build(snapshot);
    }
    for (const q of snapshot.queues) this.updates.get(queueId(q.name))?.(q);
    for (const w of snapshot.workers) this.updates.get(workerId(w.name))?.(w);
    for (const e of snapshot.edges) this.updates.get(`e:${e.id}`)?.(e);
  }

  build(snapshot) {
    // A long chain fits a wide panel badly left to right, a wide fan-out badly top to bottom:
    // lay out both ways and keep the one that needs less shrinking (left to right on a tie).
    const layouts = ['LR', 'TB'].map((rankdir) => layOut(snapshot, rankdir));
    const g = layouts.reduce((best, next) => (this.scaleFor(next.graph()) > this.scaleFor(best.graph()) + 0.01 ? next : best));
    this.svg.replaceChildren();
    this.updates.clear();
    const edgeLayer = el('g', { class: 'edges' }, this.svg);
    const nodeLayer = el('g', { class: 'nodes' }, this.svg);
    const labelLayer = el('g', { class: 'edge-labels' }, this.svg);
    for (const e of snapshot.edges) {
      const [from, to] = endpoints(e);
      const layout = g.hasNode(from) && g.hasNode(to) ? g.edge(from, to, e.id) : undefined;
      if (layout) this.updates.set(`e:${e.id}`, this.drawEdge(edgeLayer, labelLayer, e, layout, route(g, from, to, layout, g.graph().rankdir)));
    }
    for (const q of snapshot.queues) this.updates.set(queueId(q.name), this.place(g, queueId(q.name), drawQueue(nodeLayer, q.name)));
    for (const w of snapshot.workers) {
      this.updates.set(workerId(w.name), this.place(g, workerId(w.name), drawWorker(nodeLayer, w.name, w.replicas.length)));
    }
    const { width = 0, height = 0 } = g.graph();
    this.size = { width, height };
    this.fit();
  }

  /** Moves a box drawn at the origin to the place dagre gave its centre. */
  place(g, id, { group, update }) {
    const node = g.node(id);
    group.setAttribute('transform', `translate(${node.x - node.width / 2},${node.y - node.height / 2})`);
    return update;
  }

  drawEdge(edgeLayer, labelLayer, edge, layout, draw) {
    const fault = faults(edge.faults);
    const group = el('g', { class: `edge ${edge.kind}${fault ? ' fault' : ''}`, 'data-edge': edge.id }, edgeLayer);
    const line = el('path', { class: 'line' }, group);
    const head = el('path', { class: 'head' }, group);
    const label = el('g', { class: `edge-label${fault ? ' fault' : ''}`, 'data-edge': edge.id, transform: `translate(${layout.x},${layout.y})` }, labelLayer);
    const height = fault ? LABEL_HEIGHT * 2 - 4 : LABEL_HEIGHT;
    const back = el('rect', { class: 'label-box', y: -height / 2, height, rx: 6 }, label);
    const rateText = text(label, 0, fault ? -3 : 4, 'edge-rate', '', { 'text-anchor': 'middle' });
    const faultText = fault ? text(label, 0, 13, 'edge-fault', `⚡ ${fault}`, { 'text-anchor': 'middle' }) : null;
    let drawnWidth = -1;
    return (e) => {
      const perSecond = Math.max(0, e.messagesPerSecond);
      group.classList.toggle('idle', perSecond === 0);
      const width = strokeWidth(perSecond);
      // The arrowhead grows with the line, so it stays visible on a busy edge and small on a quiet one.
      if (Math.abs(width - drawnWidth) > 0.05) {
        drawnWidth = width;
        const shape = draw(width);
        line.setAttribute('d', shape.line);
        line.setAttribute('stroke-width', width.toFixed(2));
        head.setAttribute('d', shape.head);
      }
      setText(rateText, rate(perSecond));
      const boxWidth = Math.max(rateText.getComputedTextLength(), faultText ? faultText.getComputedTextLength() : 0) + 16;
      back.setAttribute('x', String(-boxWidth / 2));
      back.setAttribute('width', String(boxWidth));
    };
  }

  scaleFor({ width, height }) {
    const { clientWidth, clientHeight } = this.svg;
    // dagre reports -Infinity for an empty graph.
    if (!clientWidth || !clientHeight || !(width > 0) || !(height > 0)) return 1;
    return Math.min(1.2, clientWidth / width, clientHeight / height);
  }

  fit() {
    const { clientWidth, clientHeight } = this.svg;
    const { width, height } = this.size;
    if (!clientWidth || !clientHeight || !(width > 0) || !(height > 0)) return;
    const scale = this.scaleFor(this.size);
    const w = clientWidth / scale;
    const h = clientHeight / scale;
    this.svg.setAttribute('viewBox', `${(width - w) / 2} ${(height - h) / 2} ${w} ${h}`);
  }
}
