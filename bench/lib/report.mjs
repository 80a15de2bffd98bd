// Output of a run: the terminal table, the markdown table and the SVG bar chart of the ratios.
const number = (value, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';

export function formatRatio(ratio) {
  if (!Number.isFinite(ratio)) return 'n/a';
  return `${ratio >= 10 ? number(ratio, 1) : number(ratio, 2)}x`;
}

export function goalText(goal) {
  if (!goal) return '';
  return goal.max !== undefined ? `<= ${number(goal.max)} ${goal.unit ?? ''}`.trim() : `>= ${formatRatio(goal.min)}`;
}

export function statusText(row) {
  if (row.skipped) return 'skipped';
  if (!row.goal) return '';
  return row.met ? 'MET' : 'MISSED';
}

/** The cells of one row, shared by the terminal and markdown tables. */
function cells(row) {
  if (row.skipped) return [row.label, 'skipped', row.skipped, '', '', 'skipped'];
  return [row.label, row.resultText, row.baselineText ?? '', formatRatio(row.ratio), goalText(row.goal), statusText(row)];
}

const HEADERS = ['case', 'result', 'baseline (same run)', 'ratio', 'goal', 'status'];

export function terminalTable(sections) {
  const lines = [];
  for (const section of sections) {
    const rows = section.rows.map(cells);
    const widths = HEADERS.map((header, i) => Math.min(i === 0 ? 70 : 44, Math.max(header.length, ...rows.map((r) => r[i].length))));
    const line = (r) => r.map((cell, i) => (i === 3 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
    lines.push('', `== ${section.title}${section.note ? `  (${section.note})` : ''}`, line(HEADERS), line(widths.map((w) => '-'.repeat(w))));
    for (const r of rows) lines.push(line(r));
  }
  return lines.join('\n');
}

const escapeMd = (text) => String(text).replaceAll('|', '\\|');

export function markdownTable(sections) {
  const lines = [`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map((_, i) => (i === 3 ? '---:' : '---')).join('|')}|`];
  for (const section of sections) {
    lines.push(`| **${escapeMd(section.title)}**${section.note ? ` <br>${escapeMd(section.note)}` : ''} | | | | | |`);
    for (const row of section.rows) {
      const c = cells(row).map(escapeMd);
      if (c[5] === 'MET') c[5] = '✅ met';
      if (c[5] === 'MISSED') c[5] = '❌ missed';
      lines.push(`| ${c.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

/** Characters of a bar label that fit left of the plot at 12 px. */
const MAX_LABEL = 66;

const escapeXml = (text) => String(text).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/**
 * A horizontal bar chart of every ratio on a log scale, one bar per row, each with its goal
 * drawn as a black tick; green = goal met, red = missed, grey = no goal (for reference).
 */
export function svgChart(sections, { title, subtitle, footer = [] }) {
  const bars = [];
  for (const section of sections) {
    const rows = section.rows.filter((row) => !row.skipped && Number.isFinite(row.ratio) && row.ratio > 0 && row.chart !== false);
    if (rows.length > 0) bars.push({ heading: section.title }, ...rows);
  }
  const labelWidth = 430;
  const plotWidth = 470;
  const left = labelWidth + 10;
  const rowHeight = 20;
  const top = 78;
  const lo = 0.05;
  const maxRatio = Math.max(100, ...bars.map((b) => b.ratio ?? 0), ...bars.map((b) => b.goal?.min ?? 0));
  const hi = 10 ** Math.ceil(Math.log10(maxRatio));
  const x = (ratio) => left + (Math.log10(Math.max(lo, Math.min(hi, ratio)) / lo) / Math.log10(hi / lo)) * plotWidth;
  const height = top + bars.length * rowHeight + 30 + footer.length * 16 + 10;
  const width = left + plotWidth + 70;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="10" y="22" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(`<text x="10" y="40" fill="#444">${escapeXml(subtitle)}</text>`);
  out.push(`<text x="10" y="56" fill="#444">Bars: green = goal met, red = goal missed, grey = no goal. Black tick = the goal. Log scale.</text>`);
  const plotBottom = top + bars.length * rowHeight;
  for (const tick of [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].filter((t) => t <= hi)) {
    const tx = x(tick).toFixed(1);
    out.push(`<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${plotBottom}" stroke="${tick === 1 ? '#555' : '#ddd'}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`);
    out.push(`<text x="${tx}" y="${top - 10}" text-anchor="middle" fill="#555" font-size="10">${tick}x</text>`);
  }
  bars.forEach((bar, i) => {
    const y = top + i * rowHeight;
    if (bar.heading) {
      out.push(`<text x="10" y="${y + 14}" font-weight="bold">${escapeXml(bar.heading)}</text>`);
      return;
    }
    const color = !bar.goal ? '#9aa5ad' : bar.met ? '#2e7d32' : '#c62828';
    const label = bar.chartLabel ?? bar.label;
    const shown = label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
    out.push(`<text x="${labelWidth}" y="${y + 14}" text-anchor="end">${escapeXml(shown)}</text>`);
    const x0 = x(lo);
    out.push(`<rect x="${x0.toFixed(1)}" y="${y + 4}" width="${Math.max(1, x(bar.ratio) - x0).toFixed(1)}" height="${rowHeight - 8}" fill="${color}"/>`);
    const textX = Math.max(x(bar.ratio), bar.goal?.min === undefined ? 0 : x(bar.goal.min)) + 5;
    out.push(`<text x="${textX.toFixed(1)}" y="${y + 14}" fill="#222">${escapeXml(formatRatio(bar.ratio))}</text>`);
    if (bar.goal?.min !== undefined) {
      const gx = x(bar.goal.min).toFixed(1);
      out.push(`<line x1="${gx}" y1="${y + 1}" x2="${gx}" y2="${y + rowHeight - 1}" stroke="#000" stroke-width="2.5"/>`);
    }
  });
  footer.forEach((line, i) => {
    // SVG collapses spaces: an indented line is drawn further right instead.
    const indent = line.startsWith(' ') ? 30 : 10;
    out.push(`<text x="${indent}" y="${plotBottom + 26 + i * 16}" fill="#222">${escapeXml(line.trim())}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
