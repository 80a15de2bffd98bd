/* global document, window, EventSource */
// The page: one event stream from its own server (/events), one snapshot per message, drawn at once.
import { GraphView } from './graph.js';
import { renderEvents, renderTotals, renderUptime } from './panels.js';

/** Without a message for this long the view says it is stale (the runner sends one a second). */
const STALE_MS = 4000;

const graph = new GraphView(document.getElementById('graph'));
const connection = document.getElementById('connection');
let lastMessage = 0;
let updates = 0;

function setConnection(state, label) {
  connection.className = `connection ${state}`;
  connection.textContent = label;
}

function render(snapshot) {
  document.title = `${snapshot.name} · streampy`;
  document.getElementById('topology-name').textContent = snapshot.name;
  renderTotals(document.getElementById('totals'), snapshot);
  renderUptime(document.getElementById('uptime'), snapshot);
  renderEvents(document.getElementById('events'), snapshot);
  graph.update(snapshot);
  // For scripts and tests: how many snapshots were drawn, and the last one's time.
  document.body.dataset.updates = String(++updates);
  document.body.dataset.at = String(snapshot.at);
}

function connect() {
  const events = new EventSource('/events');
  events.onopen = () => setConnection('live', 'live');
  events.onmessage = (message) => {
    lastMessage = Date.now();
    setConnection('live', 'live');
    try {
      render(JSON.parse(message.data));
    } catch (error) {
      setConnection('broken', 'bad update');
      console.error('streampy: could not draw a snapshot', error);
    }
  };
  // EventSource reconnects by itself (the server asks for 1 s); say so meanwhile.
  events.onerror = () => setConnection('down', events.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting');
}

window.setInterval(() => {
  if (lastMessage > 0 && Date.now() - lastMessage > STALE_MS && connection.classList.contains('live')) setConnection('stale', 'stale');
}, 1000);

if (window.dagre) connect();
else setConnection('broken', 'layout library missing');
