import { checkInteger } from '@streampy/codec';
import type { Random } from '@streampy/runtime';
import { ChaosError, validated } from './errors.js';

/**
 * Faults applied to each datagram travelling in one direction. Probabilities are 0..1 and
 * drawn independently per datagram; `delayMs` is a fixed delay or an inclusive [min, max] range.
 */
export interface FaultSpec {
  readonly drop?: number;
  readonly duplicate?: number;
  readonly reorder?: number;
  readonly delayMs?: number | readonly [number, number];
  readonly corrupt?: number;
}

/** What happens to one datagram. */
export interface FaultDecision {
  readonly drop: boolean;
  /** Byte index to corrupt, or -1. */
  readonly corruptAt: number;
  /** Non-zero XOR mask applied at `corruptAt`, so the byte always changes. */
  readonly corruptMask: number;
  readonly duplicate: boolean;
  readonly reorder: boolean;
  readonly delayMs: number;
}

const PROBABILITIES = ['drop', 'duplicate', 'reorder', 'corrupt'] as const;

function checkProbability(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new ChaosError('ERR_BAD_FAULT_SPEC', `${name} must be a probability between 0 and 1, got ${String(value)}`);
  }
}

function checkDelay(value: number, name = 'delayMs'): void {
  validated('ERR_BAD_FAULT_SPEC', () => checkInteger(`${name} (ms)`, value, 0, 60_000));
}

/** Throws `ChaosError` `ERR_BAD_FAULT_SPEC` unless every field is in range. */
export function validateFaultSpec(spec: FaultSpec): FaultSpec {
  for (const name of PROBABILITIES) checkProbability(name, spec[name]);
  const delay = spec.delayMs;
  if (typeof delay === 'number') checkDelay(delay);
  else if (delay !== undefined) {
    checkDelay(delay[0]);
    checkDelay(delay[1]);
    if (delay[0] > delay[1]) throw new ChaosError('ERR_BAD_FAULT_SPEC', `delayMs range ${delay[0]}-${delay[1]} is reversed`);
  }
  return spec;
}

/**
 * Returns a function that decides the faults of each datagram in turn. Every call consumes the
 * same number of draws whatever the outcome, so decision N depends only on the seed and N:
 * the same seed over the same traffic order gives the same decisions.
 */
export function createFaultDecider(spec: FaultSpec, random: Random): (length: number) => FaultDecision {
  validateFaultSpec(spec);
  const [minDelay, maxDelay] = typeof spec.delayMs === 'number' ? [spec.delayMs, spec.delayMs] : (spec.delayMs ?? [0, 0]);
  return (length) => {
    const drop = random() < (spec.drop ?? 0);
    const corrupt = random() < (spec.corrupt ?? 0);
    const position = random();
    const mask = 1 + Math.floor(random() * 255);
    const duplicate = random() < (spec.duplicate ?? 0);
    const reorder = random() < (spec.reorder ?? 0);
    const delayMs = minDelay + Math.floor(random() * (maxDelay - minDelay + 1));
    return {
      drop,
      corruptAt: corrupt && length > 0 ? Math.floor(position * length) : -1,
      corruptMask: mask,
      duplicate,
      reorder,
      delayMs,
    };
  };
}

/** True when the spec can change any datagram (the pong demo skips the proxy otherwise). */
export function hasFaults(spec: FaultSpec): boolean {
  const delay = spec.delayMs;
  const delays = typeof delay === 'number' ? delay > 0 : delay !== undefined && delay[1] > 0;
  return delays || PROBABILITIES.some((name) => (spec[name] ?? 0) > 0);
}

/** Parses a CLI delay: `5` (fixed) or `0-5` (uniform range), in ms. */
export function parseDelay(name: string, text: string): number | [number, number] {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  if (!match) throw new ChaosError('ERR_BAD_FAULT_SPEC', `${name} must be MS or MIN-MAX in ms (e.g. 0-5), got "${text}"`);
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : Number(match[2]);
  checkDelay(min, name);
  checkDelay(max, name);
  if (min > max) throw new ChaosError('ERR_BAD_FAULT_SPEC', `${name} range ${min}-${max} is reversed`);
  return match[2] === undefined ? min : [min, max];
}

/** Parses a CLI probability such as `0.2`. */
export function parseProbability(name: string, text: string): number {
  const value = /^\s*(?:\d+(?:\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : Number.NaN;
  checkProbability(name, value);
  return value;
}

/** `drop=0.2 dup=0.1 delay=0-5`: a short description for logs and reports. */
export function describeFaults(spec: FaultSpec): string {
  const parts: string[] = [];
  if (spec.drop) parts.push(`drop=${spec.drop}`);
  if (spec.duplicate) parts.push(`dup=${spec.duplicate}`);
  if (spec.reorder) parts.push(`reorder=${spec.reorder}`);
  const delay = spec.delayMs;
  if (typeof delay === 'number' && delay > 0) parts.push(`delay=${delay}`);
  else if (Array.isArray(delay) && delay[1] > 0) parts.push(`delay=${delay[0]}-${delay[1]}`);
  if (spec.corrupt) parts.push(`corrupt=${spec.corrupt}`);
  return parts.length === 0 ? 'none' : parts.join(' ');
}
