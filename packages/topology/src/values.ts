import { parseDelay, parseProbability } from '@streampy/chaos';
import { LOG_LEVELS, parseHostPort } from '@streampy/runtime';

/** A JSON Schema fragment (draft 2020-12), as the shipped schema file holds it. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** A checked value, or why it is not one (a phrase that follows the key: `must be ..., got ...`). */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** The type of one key's value: its JSON Schema and its check (the two say the same thing). */
export interface ValueType<T> {
  readonly schema: JsonSchema;
  check(value: unknown): Checked<T>;
}

/** How a value reads in an error message: strings quoted, lists and maps named. */
export function shown(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : typeof value;
}

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = (expected: string, value: unknown): Checked<never> => ({ ok: false, message: `must be ${expected}, got ${shown(value)}` });

export function integer(min: number, max: number): ValueType<number> {
  const expected = max >= Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return {
    schema: { type: 'integer', minimum: min, ...(max >= Number.MAX_SAFE_INTEGER ? {} : { maximum: max }) },
    check: (value) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max ? ok(value) : bad(expected, value)),
  };
}

export function oneOf<T extends string>(values: readonly T[]): ValueType<T> {
  return {
    schema: { enum: [...values] },
    check: (value) => ((values as readonly unknown[]).includes(value) ? ok(value as T) : bad(`one of ${values.join(', ')}`, value)),
  };
}

export const text: ValueType<string> = {
  schema: { type: 'string', minLength: 1 },
  check: (value) => (typeof value === 'string' && value !== '' ? ok(value) : bad('a non-empty string', value)),
};

export const hostPort: ValueType<string> = {
  schema: { type: 'string', pattern: '^(\\[[^\\]]+\\]|[^:\\s]*):\\d{1,5}$' },
  check: (value) => {
    if (typeof value !== 'string') return bad('host:port (e.g. 127.0.0.1:10000)', value);
    try {
      parseHostPort(value);
      return ok(value);
    } catch {
      return bad('host:port (e.g. 127.0.0.1:10000, port 0 for any free port)', value);
    }
  },
};

export const logLevel = oneOf(LOG_LEVELS);
export const logFormat = oneOf(['json', 'pretty'] as const);

/** `always`, `never` or a positive number of ms, as streampy-mq's --fsync takes it. */
export const fsync: ValueType<string | number> = {
  schema: { oneOf: [{ enum: ['always', 'never'] }, { type: 'integer', minimum: 1, maximum: 999_999_999 }] },
  check: (value) =>
    value === 'always' || value === 'never' || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= 999_999_999)
      ? ok(value)
      : bad('always, never or a positive integer of ms', value),
};

export const probability: ValueType<number> = {
  schema: { type: 'number', minimum: 0, maximum: 1 },
  check: (value) => {
    if (typeof value !== 'number') return bad('a probability from 0 to 1', value);
    try {
      return ok(parseProbability('p', String(value)));
    } catch {
      return bad('a probability from 0 to 1', value);
    }
  },
};

/** A delay in ms, or a `MIN-MAX` range, as streampy-proxy's --delay takes it. */
export const delay: ValueType<number | readonly [number, number]> = {
  schema: { oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^\\d{1,5}(-\\d{1,5})?$' }] },
  check: (value) => {
    if (typeof value !== 'number' && typeof value !== 'string') return bad('ms or a MIN-MAX range of ms', value);
    try {
      return ok(parseDelay('delay', String(value)));
    } catch {
      return bad('ms or a MIN-MAX range of ms (e.g. 0-5)', value);
    }
  },
};

/** A name of a queue or worker: used in edges, logs and command lines. */
export const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export const name: ValueType<string> = {
  schema: { type: 'string', pattern: NAME_PATTERN.source },
  check: (value) => (typeof value === 'string' && NAME_PATTERN.test(value) ? ok(value) : bad('a name of 1-64 characters A-Z a-z 0-9 _ . - (not starting with . or -)', value)),
};

/** One item or a list of them; always a list once checked. */
export function listOf<T>(item: ValueType<T>, what: string): ValueType<readonly T[]> {
  return {
    schema: { oneOf: [item.schema, { type: 'array', items: item.schema, minItems: 1 }] },
    check: (value) => {
      const items = Array.isArray(value) ? (value as unknown[]) : [value];
      if (items.length === 0) return bad(`${what}, or a non-empty list of them`, value);
      const checked: T[] = [];
      for (const [index, entry] of items.entries()) {
        const result = item.check(entry);
        if (!result.ok) return { ok: false, message: Array.isArray(value) ? `item ${index} ${result.message}` : result.message };
        checked.push(result.value);
      }
      return ok(checked);
    },
  };
}
