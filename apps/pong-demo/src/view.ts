import { describeFaults, type DirectionStats, type ProxyStats } from '@streampy/chaos';
import type { Snapshot, Summary } from './game.js';
import { ballsHeld, ballsInPlay } from './queue-stats.js';

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fmt = (value: number): string => numberFormat.format(value);

const COURT_WIDTH = 40;
/** Court crossings per second of the drawn ball: slow enough to follow, whatever the real rate. */
const DRAWN_CROSSINGS_PER_SECOND = 1.5;

function faults(snapshot: Snapshot): string {
  return snapshot.faults ? describeFaults(snapshot.faults) : 'none';
}

/** How the balls the queue holds compare with the balls seeded, in words. */
export function ballVerdict(seeded: number, held: number): string {
  if (held === seeded) return 'all here';
  if (held < seeded) return `${fmt(seeded - held)} not in the queue (in the worker's hand, or lost)`;
  return `${fmt(held - seeded)} over (a duplicate)`;
}

function direction(label: string, stats: DirectionStats): string {
  return `${label} ${fmt(stats.forwarded)} passed, ${fmt(stats.dropped)} dropped, ${fmt(stats.duplicated)} duplicated, ${fmt(stats.reordered)} reordered, ${fmt(stats.delayed)} delayed`;
}

export function proxyLines(proxy: ProxyStats): [string, string] {
  return [direction('to queue: ', proxy.toTarget), direction('to worker:', proxy.toClient)];
}

/** A ball crossing the court; it freezes while no round is played. */
function court(snapshot: Snapshot): string {
  const crossings = snapshot.elapsedSeconds * DRAWN_CROSSINGS_PER_SECOND;
  const span = COURT_WIDTH - 1;
  const phase = crossings % 2;
  const position = snapshot.roundsPerSecond > 0 ? Math.round((phase <= 1 ? phase : 2 - phase) * span) : Math.floor(span / 2);
  const cells = Array.from({ length: COURT_WIDTH }, (_, i) => (i === position ? 'o' : ' '));
  return `ping |${cells.join('')}| pong`;
}

function topology(proxied: boolean): string[] {
  if (!proxied) {
    return ['[ queue node ] ── ping/pong ──> [ pong worker ]', '       ^                              │', '       └──────── pong/ping ───────────┘'];
  }
  return [
    '[ queue node ] <──> [ fault proxy ] <──> [ pong worker ]',
    '       ^        (drop/dup/reorder/delay)         │',
    '       └───────────── results put back ──────────┘',
  ];
}

/** The live screen: one string per line. */
export function renderScreen(snapshot: Snapshot): string[] {
  const { counts } = snapshot;
  const held = ballsHeld(counts);
  const inPlay = ballsInPlay(counts, snapshot.ballsSeeded, snapshot.guarantee);
  const balls = snapshot.ballsSeeded === 1 ? '1 ball' : `${fmt(snapshot.ballsSeeded)} balls`;
  const lines = [
    `streampy pong: ${balls}, ${snapshot.guarantee}, faults: ${faults(snapshot)}    ${snapshot.elapsedSeconds.toFixed(1)} s`,
    '',
    ...topology(snapshot.faults !== undefined).map((line) => `  ${line}`),
    '',
    `  ${court(snapshot)}`,
    '',
    `  rounds/s   ${fmt(snapshot.roundsPerSecond)}`,
    `  rounds     ${fmt(snapshot.rounds)}`,
    `  queue      ${fmt(held)} (${fmt(counts.ready)} ready, ${fmt(counts.leased)} leased, ${fmt(counts.delayed)} delayed)`,
    `  balls      ${fmt(snapshot.ballsSeeded)} seeded, ${fmt(inPlay)} in play: ${ballVerdict(snapshot.ballsSeeded, inPlay)}`,
    `  recent     ${counts.recent.join('  ') || '-'}`,
  ];
  if (snapshot.proxy) {
    const [toQueue, toWorker] = proxyLines(snapshot.proxy);
    lines.push(`  proxy      ${toQueue}`, `             ${toWorker}`);
  }
  lines.push('', '  Ctrl-C to stop');
  return lines;
}

/** One progress line, for a stdout that is not a terminal. */
export function renderLine(snapshot: Snapshot): string {
  const { counts } = snapshot;
  const held = ballsHeld(counts);
  const inPlay = ballsInPlay(counts, snapshot.ballsSeeded, snapshot.guarantee);
  const parts = [
    `t=${snapshot.elapsedSeconds.toFixed(1)}s`,
    `rounds/s=${Math.round(snapshot.roundsPerSecond)}`,
    `rounds=${snapshot.rounds}`,
    `queue=${held} (ready ${counts.ready}, leased ${counts.leased}, delayed ${counts.delayed})`,
    `balls=${inPlay}/${snapshot.ballsSeeded}`,
    `recent=${counts.recent.join(',') || '-'}`,
    `guarantee=${snapshot.guarantee}`,
    `faults=${faults(snapshot).replaceAll(' ', ',')}`,
  ];
  if (snapshot.proxy) {
    const { toTarget, toClient } = snapshot.proxy;
    parts.push(`proxy dropped=${toTarget.dropped + toClient.dropped} duplicated=${toTarget.duplicated + toClient.duplicated} reordered=${toTarget.reordered + toClient.reordered}`);
  }
  return parts.join(' ');
}

/** What a person reads when the game ends (the `--json` summary is for scripts). */
export function renderSummary(summary: Summary): string[] {
  const lines = [
    `pong-demo: ${fmt(summary.rounds)} rounds in ${summary.seconds.toFixed(1)} s (${fmt(summary.roundsPerSecond)} rounds/s), ${summary.guarantee}, faults: ${summary.faults ? describeFaults(summary.faults) : 'none'}`,
    `balls: ${fmt(summary.ballsSeeded)} seeded, ${fmt(summary.ballsAtEnd)} at the end: ${summary.ballsAtEnd === summary.ballsSeeded ? 'conserved' : summary.ballsAtEnd < summary.ballsSeeded ? `${fmt(summary.ballsSeeded - summary.ballsAtEnd)} lost` : `${fmt(summary.ballsAtEnd - summary.ballsSeeded)} duplicated`}`,
  ];
  if (summary.faults) {
    const [toQueue, toWorker] = proxyLines(summary.faults.proxy);
    lines.push(`proxy (seed ${summary.faults.seed}): ${toQueue}; ${toWorker}`);
  }
  return lines;
}

const ESC = '\u001b[';

/** Draws whole screens in place on a terminal: home, each line cleared to its end, rest cleared. */
export class Screen {
  readonly #out: NodeJS.WriteStream;
  #started = false;

  constructor(out: NodeJS.WriteStream) {
    this.#out = out;
  }

  draw(lines: readonly string[]): void {
    const width = Math.max(20, (this.#out.columns || 80) - 1);
    const prefix = this.#started ? `${ESC}H` : `${ESC}?25l${ESC}2J${ESC}H`;
    this.#started = true;
    this.#out.write(prefix + lines.map((line) => `${line.slice(0, width)}${ESC}K\n`).join('') + `${ESC}J`);
  }

  /** Gives the cursor back; the last frame stays on screen. */
  close(): void {
    if (this.#started) this.#out.write(`${ESC}?25h`);
    this.#started = false;
  }
}
