/* global document */
// The header totals and the event list beside the graph.
import { clock, count, duration, rate } from './format.js';

function item(tag, className, content) {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = content;
  return node;
}

/** Sums that answer "is it healthy?" at a glance: throughput, replicas up, dead letters, restarts, errors. */
export function renderTotals(dl, snapshot) {
  const replicas = snapshot.workers.flatMap((w) => w.replicas);
  const running = replicas.filter((r) => r.status === 'running').length;
  const throughput = snapshot.edges.filter((e) => e.kind === 'output').reduce((sum, e) => sum + Math.max(0, e.messagesPerSecond), 0);
  const dead = snapshot.queues.reduce((sum, q) => sum + q.deadLetters, 0);
  const restarts = snapshot.queues.reduce((sum, q) => sum + q.restarts, 0) + replicas.reduce((sum, r) => sum + r.restarts, 0);
  const errors = snapshot.queues.reduce((sum, q) => sum + q.errors, 0);
  const rows = [
    ['throughput', rate(throughput), 'total', false],
    ['replicas', `${running}/${replicas.length} running`, 'replicas', running < replicas.length],
    ['dead letters', count(dead), 'dead', dead > 0],
    ['restarts', count(restarts), 'restarts', restarts > 0],
    ['errors', count(errors), 'errors', errors > 0],
  ];
  dl.replaceChildren(
    ...rows.map(([label, value, field, alarm]) => {
      const cell = item('div', alarm ? 'total alarm' : 'total', '');
      cell.dataset.total = field;
      cell.append(item('dt', '', label), item('dd', '', value));
      return cell;
    }),
  );
}

export function renderUptime(span, snapshot) {
  span.textContent = `up ${duration(snapshot.uptimeMs)}`;
}

/** Newest first; rebuilt only when the list changed (it holds at most 50). */
export function renderEvents(list, snapshot) {
  const events = snapshot.events;
  const key = events.length === 0 ? '' : `${events.length}:${events[0].at}:${events[events.length - 1].at}:${events[events.length - 1].text}`;
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  if (events.length === 0) {
    list.replaceChildren(item('li', 'event empty', 'No events yet: restarts, exits and faults show up here.'));
    return;
  }
  list.replaceChildren(
    ...[...events].reverse().map((e) => {
      const li = item('li', `event ${e.level}`, '');
      li.append(item('time', 'at', clock(e.at)), item('span', 'level', e.level), item('span', 'text', e.text));
      return li;
    }),
  );
}
