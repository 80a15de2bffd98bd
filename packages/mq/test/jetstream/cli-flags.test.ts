import { describe, expect, it } from 'vitest';
import { launch } from '@streampy/testing';
import { MQ_CLI, REPO } from '../client/processes.js';

/** Runs streampy-mq with `args` to its end (these all stop before listening). */
async function run(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  const { code, stderr } = await launch(process.execPath, [MQ_CLI, '--address', '127.0.0.1:0', ...args], { cwd: REPO, deadlineMs: 20_000 }).finished;
  return { code, stderr };
}

describe('streampy-mq NATS flags', () => {
  it('refuses bad combinations with one line and exit 2, before reaching NATS', async () => {
    const cases: [string[], RegExp][] = [
      [['--nats', 'nats://127.0.0.1:1', '--data-dir', '/tmp/never'], /--data-dir and --nats exclude each other/],
      [['--replicas', '3'], /--replicas needs --nats/],
      [['--nats-timeout', '500'], /--nats-timeout needs --nats/],
      [['--nats', 'nats://127.0.0.1:1', '--replicas', '9'], /--replicas must be an integer between 1 and 5/],
      [['--nats', 'nats://127.0.0.1:1', '--nats-password', 'p'], /--nats-password needs --nats-user/],
      [['--nats', 'nats://127.0.0.1:1', '--nats-user', 'u', '--nats-token', 't'], /give one of --nats-creds, --nats-user or --nats-token/],
      [['--nats', 'nats://127.0.0.1:1', '--nats-prefix', 'a.b'], /prefix must be 1-32 of/],
      [['--nats', ' , '], /nats must be one or more URLs/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await run(...args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr, args.join(' ')).toMatch(message);
    }
  });

  it('documents the NATS flags in --help', async () => {
    const { code, stdout } = await launch(process.execPath, [MQ_CLI, '--help'], { cwd: REPO, deadlineMs: 20_000 }).finished;
    expect(code).toBe(0);
    for (const flag of ['--nats URL', '--nats-creds', '--nats-user', '--nats-token', '--replicas', '--nats-prefix', '--nats-timeout']) expect(stdout).toContain(flag);
  });
});
