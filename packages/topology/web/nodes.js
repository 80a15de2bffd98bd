// The two kinds of node box. Each `draw*` builds the box once and returns it with `update(view)`, which
// only changes texts and classes: boxes are rebuilt only when the topology's shape changes.
import { clip, count } from './format.js';
import { el, pill, setText, text } from './svg.js';

export const QUEUE_SIZE = { width: 212, height: 110 };
export const WORKER_WIDTH = 236;
const REPLICA_ROW = 22;
const WORKER_HEAD = 56;

/** A worker's box grows with its replicas. */
export function workerHeight(replicas) {
  return WORKER_HEAD + REPLICA_ROW * Math.max(1, replicas) + 10;
}

/** The statuses that mean "look here", worst first: a node shows the worst of its processes. */
const WORST_FIRST = ['failed', 'restarting', 'starting', 'stopping', 'stopped', 'running'];

function box(parent, kind, name, width, height) {
  const group = el('g', { class: `node ${kind}`, 'data-node': name, 'data-kind': kind }, parent);
  const title = el('title', {}, group);
  el('rect', { class: 'box', width, height, rx: 10 }, group);
  el('rect', { class: 'accent', width: 5, height: height - 16, x: 0, y: 8, rx: 2.5 }, group);
  text(group, 16, 24, 'name', clip(name, 17));
  return { group, title };
}

function setStatus(group, status) {
  if (group.getAttribute('data-status') === status) return;
  for (const s of WORST_FIRST) group.classList.remove(`status-${s}`);
  group.classList.add(`status-${status}`);
  group.setAttribute('data-status', status);
}

/** A queue: status, address, ready / leased / dead letters, rates in and out, restarts and errors. */
export function drawQueue(parent, name) {
  const { width, height } = QUEUE_SIZE;
  const { group, title } = box(parent, 'queue', name, width, height);
  const status = pill(group, width - 10, 22);
  const address = text(group, 16, 42, 'sub');
  const cells = [['ready', 16], ['leased', 80], ['dead', 144]].map(([label, x]) => {
    text(group, x, 61, 'cell-label', label);
    return text(group, x, 79, 'cell-value', '0', { 'data-field': label });
  });
  el('line', { class: 'divider', x1: 14, x2: width - 14, y1: 88, y2: 88 }, group);
  const rates = text(group, 16, 101, 'foot');
  const health = text(group, width - 12, 101, 'foot', '', { 'text-anchor': 'end' });
  const update = (q) => {
    setStatus(group, q.status);
    status(q.status, q.status);
    setText(address, q.pid === null ? q.address : `${q.address} · pid ${q.pid}`);
    const [ready, leased, dead] = cells;
    setText(ready, count(q.ready));
    setText(leased, count(q.leased));
    setText(dead, count(q.deadLetters));
    dead.classList.toggle('alarm', q.deadLetters > 0);
    setText(rates, `in ${count(q.putsPerSecond, 1)}/s · out ${count(q.takesPerSecond, 1)}/s`);
    setText(health, `↻ ${q.restarts} · err ${count(q.errors)}`);
    health.classList.toggle('alarm', q.errors > 0 || q.restarts > 0);
    setText(title, `queue ${q.name} at ${q.address}: ${q.ready} ready, ${q.leased} leased, ${q.delayed} delayed, ${q.deadLetters} dead letters${q.metrics ? `\nmetrics: ${q.metrics}` : ''}`);
  };
  return { group, update };
}

/** A worker: its function and guarantee, then one row per replica with status, pid and restarts. */
export function drawWorker(parent, name, replicaCount) {
  const height = workerHeight(replicaCount);
  const { group, title } = box(parent, 'worker', name, WORKER_WIDTH, height);
  const status = pill(group, WORKER_WIDTH - 10, 22);
  const detail = text(group, 16, 42, 'sub');
  const rows = [];
  for (let i = 0; i < replicaCount; i++) {
    const y = WORKER_HEAD + i * REPLICA_ROW;
    const row = el('g', { class: 'replica', 'data-replica': i, transform: `translate(0,${y})` }, group);
    el('rect', { class: 'replica-band', x: 10, y: 0, width: WORKER_WIDTH - 20, height: REPLICA_ROW - 3, rx: 5 }, row);
    el('circle', { class: 'dot', cx: 22, cy: 9.5, r: 4.5 }, row);
    // Numbered from 0, as the runner's log and events name them (split#0).
    text(row, 34, 14, 'replica-name', `#${i}`);
    rows.push({
      row,
      status: text(row, 60, 14, 'replica-status'),
      pid: text(row, 134, 14, 'replica-pid'),
      restarts: text(row, WORKER_WIDTH - 18, 14, 'replica-restarts', '', { 'text-anchor': 'end' }),
    });
  }
  const update = (w) => {
    const statuses = w.replicas.map((r) => r.status);
    const worst = WORST_FIRST.find((s) => statuses.includes(s)) ?? 'stopped';
    const running = statuses.filter((s) => s === 'running').length;
    setStatus(group, worst);
    status(worst, worst === 'running' ? `${running}/${statuses.length} running` : worst);
    setText(detail, `${clip(w.function, 16)} · ${w.guarantee}`);
    w.replicas.forEach((r, i) => {
      const cells = rows[i];
      if (!cells) return;
      cells.row.setAttribute('data-status', r.status);
      setText(cells.status, r.status);
      setText(cells.pid, r.pid === null ? 'pid —' : `pid ${r.pid}`);
      setText(cells.restarts, `↻ ${r.restarts}`);
      cells.restarts.classList.toggle('alarm', r.restarts > 0);
    });
    setText(title, `worker ${w.name}: ${w.function}, ${w.guarantee}\nin: ${w.inputs.join(', ') || '—'}\nout: ${w.outputs.join(', ') || '—'}`);
  };
  return { group, update };
}
