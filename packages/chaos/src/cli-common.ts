import { UsageError } from '@streampy/runtime';
import { ChaosError } from './errors.js';
import { parseDelay, parseProbability, type FaultSpec } from './faults.js';

/** CLI fault flag -> FaultSpec field; each also exists as `<flag>-to-target` and `<flag>-to-client`. */
const FAULT_FLAGS = { drop: 'drop', dup: 'duplicate', reorder: 'reorder', delay: 'delayMs', corrupt: 'corrupt' } as const;
type FaultFlag = keyof typeof FAULT_FLAGS;

const DIRECTIONS = ['', '-to-target', '-to-client'] as const;

/** `parseArgs` options for every fault flag. */
export function faultFlagOptions(): Record<string, { type: 'string' }> {
  const options: Record<string, { type: 'string' }> = {};
  for (const flag of Object.keys(FAULT_FLAGS)) {
    for (const suffix of DIRECTIONS) options[`${flag}${suffix}`] = { type: 'string' };
  }
  return options;
}

function specOf(values: Readonly<Record<string, unknown>>, suffix: '-to-target' | '-to-client'): FaultSpec {
  const spec: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = {};
  for (const [flag, field] of Object.entries(FAULT_FLAGS) as [FaultFlag, (typeof FAULT_FLAGS)[FaultFlag]][]) {
    const raw = values[`${flag}${suffix}`] ?? values[flag];
    if (typeof raw !== 'string') continue;
    const name = `--${flag}${values[`${flag}${suffix}`] === undefined ? '' : suffix}`;
    try {
      if (field === 'delayMs') spec.delayMs = parseDelay(name, raw);
      else spec[field] = parseProbability(name, raw);
    } catch (error) {
      throw error instanceof ChaosError ? new UsageError(error.message) : error;
    }
  }
  return spec;
}

/** The two directions' fault specs from parsed fault flags (per-direction flags win). */
export function faultSpecsFromFlags(values: Readonly<Record<string, unknown>>): { toTarget: FaultSpec; toClient: FaultSpec } {
  return { toTarget: specOf(values, '-to-target'), toClient: specOf(values, '-to-client') };
}

