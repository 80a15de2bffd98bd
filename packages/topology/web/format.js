// Number and time formatting for the page: short, steady-width texts that stay readable as values move.

/** Messages per second: one decimal below 10, whole numbers to 9999, then k / M. */
export function rate(perSecond) {
  return `${count(perSecond, 1)} msg/s`;
}

/** A count: 0-9999 as is, then 12.3k, 4.5M. `decimals` applies below 10 (for rates). */
export function count(value, decimals = 0) {
  const n = Number.isFinite(value) ? Math.max(0, value) : 0;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (n < 10 && decimals > 0 && n !== Math.round(n)) return n.toFixed(decimals);
  return String(Math.round(n));
}

/** 3723000 ms as "1h 02m 03s"; under an hour "2m 03s"; under a minute "42s". */
export function duration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (x) => String(x).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m ${pad(s)}s`;
  if (m > 0) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}

/** Wall-clock time of day, 24h, local: "14:03:07". */
export function clock(at) {
  const d = new Date(at);
  const pad = (x) => String(x).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The faults of an edge in words: "drop 10% · dup 5% · delay 20 ms", or "" when it has none. */
export function faults(f) {
  if (!f) return '';
  const parts = [];
  const pct = (x) => `${Math.round(x * 1000) / 10}%`;
  if (f.drop) parts.push(`drop ${pct(f.drop)}`);
  if (f.dup) parts.push(`dup ${pct(f.dup)}`);
  if (f.reorder) parts.push(`reorder ${pct(f.reorder)}`);
  if (f.delayMs) parts.push(`delay ${f.delayMs} ms`);
  return parts.join(' · ');
}

/** `text` cut to `max` characters with an ellipsis, so long names cannot burst a node's box. */
export function clip(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
