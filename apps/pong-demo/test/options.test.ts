import { hasFaults } from '@streampy/chaos';
import { UsageError } from '@streampy/runtime';
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../src/options.js';

function run(argv: string[]) {
  const command = parseCommand(argv);
  if (command.kind !== 'run') throw new Error(`expected a run, got ${command.kind}`);
  return command.options;
}

describe('parseCommand', () => {
  it('defaults to one ball, at-least-once, no faults, until stopped', () => {
    const options = run([]);
    expect(options).toMatchObject({ balls: 1, durationSeconds: undefined, json: false, guarantee: 'at-least-once', seed: undefined });
    expect(hasFaults(options.faults)).toBe(false);
  });

  it("accepts pnpm's leading -- the same as the bare flags", () => {
    const argv = ['--duration', '5', '--json', '--balls', '3'];
    expect(run(['--', ...argv])).toEqual(run(argv));
    expect(run(['--', ...argv])).toMatchObject({ durationSeconds: 5, json: true, balls: 3 });
  });

  it('reads every fault flag', () => {
    const options = run(['--guarantee', 'exactly-once', '--drop', '0.1', '--dup', '0.2', '--reorder', '0.3', '--delay', '4', '--seed', '42', '--lease-ms', '250']);
    expect(options.guarantee).toBe('exactly-once');
    expect(options.faults).toEqual({ drop: 0.1, duplicate: 0.2, reorder: 0.3, delayMs: 4 });
    expect(options).toMatchObject({ seed: 42, leaseMs: 250 });
    expect(hasFaults(options.faults)).toBe(true);
    expect(run(['--delay', '2-9']).faults.delayMs).toEqual([2, 9]);
  });

  it('answers --help and --version before validating anything else', () => {
    expect(parseCommand(['--help', '--balls', 'x'])).toEqual({ kind: 'help' });
    expect(parseCommand(['--', '--version'])).toEqual({ kind: 'version' });
  });

  it.each([
    [['--balls', '0']],
    [['--balls', '1.5']],
    [['--balls', '']],
    [['--duration=-1']],
    [['--duration', '0']],
    [['--drop', '1.5']],
    [['--dup', 'often']],
    [['--delay', '0.5']],
    [['--guarantee', 'maybe-once']],
    [['--lease-ms', '0']],
    [['extra']],
  ])('rejects %j as a usage error', (argv) => {
    expect(() => parseCommand(argv)).toThrow(UsageError);
  });

  it('rejects an unknown flag as a usage error in our own words (exit 2)', () => {
    expect(() => parseCommand(['--bogus'])).toThrow(UsageError);
    expect(() => parseCommand(['--bogus'])).toThrow('unknown option --bogus');
    expect(parseCommand(['-h'])).toEqual({ kind: 'help' });
    expect(parseCommand(['-v'])).toEqual({ kind: 'version' });
  });
});

describe('--web', () => {
  it('takes host:port and refuses anything else as a usage error', () => {
    expect(run(['--web', '127.0.0.1:0']).web).toBe('127.0.0.1:0');
    expect(run([]).web).toBeUndefined();
    expect(() => parseCommand(['--web', 'nowhere'])).toThrow(UsageError);
  });
});
