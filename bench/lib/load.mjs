// Load generators: closed loops with a warm-up, bounded by both time and count, and a raw UDP
// endpoint for speaking datagrams without any client library in the way.
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';

/** How long each measured case runs and how many operations it may do at most. */
export function budget(quick) {
  return quick
    ? { warmupMs: 100, warmupOps: 2_000, durationMs: 400, maxOps: 20_000, prefill: 20_000, batchPrefill: 40_000, memoryMessages: 50_000, latencySeconds: 1 }
    : { warmupMs: 400, warmupOps: 40_000, durationMs: 2_000, maxOps: 400_000, prefill: 100_000, batchPrefill: 500_000, memoryMessages: 1_000_000, latencySeconds: 3 };
}

/**
 * Runs `concurrency` loops of `await step(loopIndex)` (each returns how many messages it completed, 0 to
 * stop early) unmeasured for `warmupMs` or `warmupOps` messages, whichever comes first (a fast
 * consumer must not drain its backlog while warming up), then measures until `durationMs` or
 * `maxOps` messages.
 * With `latencies`, keeps the duration of each measured step in microseconds.
 */
export async function closedLoop({ warmupMs, warmupOps = Infinity, durationMs, maxOps, concurrency = 1, latencies = false }, step) {
  const t0 = performance.now();
  const warmupEnd = t0 + warmupMs;
  // A loop stalled on a lost datagram must not hold the run forever.
  const hardEnd = warmupEnd + durationMs * 3 + 10_000;
  let measuring = false;
  let measureStart = 0;
  let warmupDone = 0;
  let ops = 0;
  let done = false;
  const samples = [];
  const loop = async (index) => {
    while (!done) {
      const before = performance.now();
      if (before > hardEnd) break;
      if (!measuring && (before >= warmupEnd || warmupDone >= warmupOps)) {
        measuring = true;
        measureStart = before;
      }
      const counted = measuring;
      const n = await step(index);
      const after = performance.now();
      if (n === 0) {
        done = true;
        break;
      }
      if (!counted) warmupDone += n;
      if (counted) {
        ops += n;
        if (latencies) samples.push((after - before) * 1000);
        if (ops >= maxOps || after - measureStart >= durationMs) done = true;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, index) => loop(index)));
  const seconds = measuring ? (performance.now() - measureStart) / 1000 : 0;
  return { ops, seconds, rate: seconds > 0 ? ops / seconds : 0, samples };
}

export function inFlight(concurrency) {
  return concurrency === 1 ? 'one at a time' : `${concurrency} in flight`;
}

/**
 * Tops `backlog.count` (messages known to be queued) up to `target` with `putOne()`,
 * `window` at a time, so consuming cases never run dry after a short time.
 */
export async function fillBacklog(backlog, target, putOne, window = 256) {
  while (backlog.count < target) {
    const n = Math.min(window, target - backlog.count);
    await Promise.all(Array.from({ length: n }, putOne));
    backlog.count += n;
  }
}

/** Percentile (0-100) of unsorted samples, nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function latencySummary(samples) {
  const sorted = Float64Array.from(samples).sort();
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9) };
}

/**
 * A UDP socket talking to one server. `request` sends a datagram and resolves with the next
 * datagram received (or undefined after `timeoutMs`: a loss, counted in `lost`).
 */
export class UdpPeer {
  static open(host, port) {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        socket.connect(port, host, () => resolve(new UdpPeer(socket)));
      });
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.lost = 0;
    this.waiter = undefined;
    this.onDatagram = undefined;
    socket.on('message', (datagram) => {
      if (this.onDatagram) return this.onDatagram(datagram);
      const waiter = this.waiter;
      if (!waiter) return;
      this.waiter = undefined;
      clearTimeout(waiter.timer);
      waiter.resolve(datagram);
    });
    socket.on('error', () => {
      // Loopback ICMP errors (peer gone) surface as lost requests instead.
    });
  }

  send(datagram) {
    this.socket.send(datagram);
  }

  request(datagram, timeoutMs = 1000) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        this.lost++;
        resolve(undefined);
      }, timeoutMs);
      this.waiter = { resolve, timer };
      this.socket.send(datagram);
    });
  }

  /**
   * Keeps up to `window` units in flight: `next()` returns a datagram and how many units it
   * carries, `unitsIn(reply)` how many a reply completes. A window with no reply for
   * `stallMs` is written off as lost and refilled. Same bounds as `closedLoop`.
   */
  async pipelined({ warmupMs, warmupOps = Infinity, durationMs, maxOps, window, stallMs = 200 }, next, unitsIn) {
    const t0 = performance.now();
    let measureStart = -1;
    let ops = 0;
    let warmupDone = 0;
    let inFlight = 0;
    let lastReply = t0;
    let stopped = false;
    const hardEnd = t0 + warmupMs + durationMs * 3 + 10_000;
    return new Promise((resolve) => {
      const finish = () => {
        if (stopped) return;
        stopped = true;
        clearInterval(watchdog);
        const seconds = measureStart < 0 ? 0 : (performance.now() - measureStart) / 1000;
        // Replies still on their way belong to this case: let them land and drop them.
        this.onDatagram = () => {};
        setTimeout(() => {
          this.onDatagram = undefined;
          resolve({ ops, seconds, rate: seconds > 0 ? ops / seconds : 0 });
        }, 100);
      };
      const fill = () => {
        while (!stopped) {
          const item = next();
          if (item === undefined || inFlight + item.units > window) break;
          inFlight += item.units;
          this.socket.send(item.datagram);
        }
      };
      this.onDatagram = (reply) => {
        const now = performance.now();
        lastReply = now;
        let units;
        try {
          units = unitsIn(reply);
        } catch {
          units = { sent: 0, done: 0 };
        }
        inFlight = Math.max(0, inFlight - units.sent);
        if (measureStart >= 0) ops += units.done;
        else warmupDone += units.done;
        if (measureStart < 0 && (now - t0 >= warmupMs || warmupDone >= warmupOps)) measureStart = now;
        if (units.stop || (measureStart >= 0 && (ops >= maxOps || now - measureStart >= durationMs))) return finish();
        fill();
      };
      const watchdog = setInterval(() => {
        const now = performance.now();
        if (now > hardEnd) return finish();
        if (now - lastReply > stallMs) {
          this.lost += inFlight;
          inFlight = 0;
          lastReply = now;
          fill();
        }
      }, Math.max(20, stallMs / 4));
      fill();
    });
  }

  close() {
    this.socket.close();
  }
}
