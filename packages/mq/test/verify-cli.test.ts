import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createQueueNode, type DataDirReport } from '../src/index.js';
import { TestPeer, silentLogger, text } from './udp.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function verify(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, '--verify', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every file's bytes under `dir`, by path. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(join(entry.parentPath, entry.name), (await readFile(join(entry.parentPath, entry.name))).toString('base64'));
  }
  return files;
}

describe('streampy-mq --verify', () => {
  it('reports a sound dir (exit 0), damage (exit 1) and a torn tail alone (exit 0), and never changes a byte', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streampy-verify-'));
    dirs.push(dir);
    const data = join(dir, 'data');
    const node = await createQueueNode({ logger: silentLogger(), dataDir: data, fsync: 'never' });
    const peer = await TestPeer.open();
    try {
      for (let i = 0; i < 40; i++) expect(text(await peer.exchange(node.address, `PUT key=k${i} q=jobs:${String(i).padStart(4, '0')}${'m'.repeat(100)}`))).toBe('PUT 104 bytes');
    } finally {
      await peer.close();
      await node.close();
    }

    const sound = verify('--data-dir', data);
    expect(sound.stderr).toBe('');
    expect(sound.status).toBe(0);
    expect(sound.stdout).toMatch(/queue jobs: 1 segment \(\d+ bytes, format 2\), 40 messages, 40 keys/);
    expect(sound.stdout.trim().split('\n').at(-1)).toBe('sound');

    // One flipped byte in the middle of the segment: the records it covers are damage.
    const damaged = join(dir, 'damaged');
    await cp(data, damaged, { recursive: true });
    const segment = join(damaged, 'jobs', (await readdir(join(damaged, 'jobs'))).find((name) => name.endsWith('.seg')) as string);
    const bytes = await readFile(segment);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0xff;
    await writeFile(segment, bytes);
    const before = await snapshot(damaged);
    const report = verify('--data-dir', damaged);
    expect(report.status).toBe(1);
    expect(report.stdout).toContain(`records ${segment} bytes `);
    expect(report.stdout).toMatch(/records \S+ bytes \d+-\d+ \(\d+ records?\): /);
    expect(report.stdout.trim().split('\n').at(-1)).toBe('DAMAGED');
    const json = verify('--data-dir', damaged, '--json');
    expect(json.status).toBe(1);
    const parsed = JSON.parse(json.stdout) as DataDirReport;
    expect(parsed.damaged).toBe(true);
    const jobs = parsed.queues.find((queue) => queue.queue === 'jobs');
    const damage = jobs?.damage[0];
    expect(damage).toMatchObject({ file: segment, kind: 'records' });
    expect(damage?.start).toBeLessThanOrEqual(at);
    expect(damage?.end).toBeGreaterThan(at);
    expect(jobs?.messages).toBeLessThan(40);
    expect(await snapshot(damaged)).toEqual(before);

    // A cut at the end of the newest segment: a torn write, printed, not damage.
    const torn = join(dir, 'torn');
    await cp(data, torn, { recursive: true });
    const tornSegment = join(torn, 'jobs', (await readdir(join(torn, 'jobs'))).find((name) => name.endsWith('.seg')) as string);
    await truncate(tornSegment, bytes.length - 30);
    const tornReport = verify('--data-dir', torn);
    expect(tornReport.status).toBe(0);
    expect(tornReport.stdout).toContain(`torn-tail ${tornSegment} bytes `);
    expect(tornReport.stdout.trim().split('\n').at(-1)).toMatch(/^sound; 1 torn tail /);
  });

  it('exits 2 for a dir it cannot read and for --verify without --data-dir', () => {
    const missing = verify('--data-dir', join(tmpdir(), 'streampy-no-such-dir-8'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^streampy-mq: cannot read data dir /);
    expect(missing.stdout).toBe('');
    const usage = verify();
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--verify needs --data-dir/);
  });
});
