#!/usr/bin/env node
// Proves the published artifact works for a stranger: packs @streampy/codec, installs the
// tarball with plain npm into a fresh folder outside the workspace, runs it as ESM,
// type-checks against the shipped .d.ts without Node types, and runs publint and attw.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(packageDir, '..', '..');
const bin = (name) => join(repoRoot, 'node_modules', '.bin', name);
const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');

const summary = [];

function run(command, args, cwd) {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(`${[command, ...args].join(' ')} failed (exit ${error.status ?? error.signal ?? error.code}):\n${output}`, { cause: error });
  }
}

function check(what, ok, detail = '') {
  if (!ok) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
  summary.push(`ok  ${what}`);
}

const SMOKE_MJS = `import { CodecError, FrameDecoder, decodeFrame, decodeFrameText, encodeFrame, readFrameHeader } from '@streampy/codec';
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const frame = encodeFrame('Hello World');
if (hex(frame) !== '316248656c6c6f20576f726c64') throw new Error('bad frame ' + hex(frame));
if (decodeFrameText(frame) !== 'Hello World') throw new Error('bad round trip');
const decoder = new FrameDecoder();
const frames = [...decoder.push(frame.subarray(0, 5)), ...decoder.push(frame.subarray(5))];
decoder.end();
if (frames.length !== 1 || frames[0].length !== 11) throw new Error('bad stream decode');
if (readFrameHeader(new TextEncoder().encode('f800000000000000')).declaredLength !== 2n ** 59n) throw new Error('bad header');
try {
  decodeFrame(new Uint8Array(0));
  throw new Error('empty input accepted');
} catch (error) {
  if (!(error instanceof CodecError) || error.code !== 'ERR_EMPTY') throw error;
}
console.log('smoke ok');
`;

// Uses the types for real: a wrong type or an `any` export makes tsc fail (see @ts-expect-error).
const CHECK_TS = `import { CodecError, FrameDecoder, decodeFrame, encodeFrame, parseRequest, readFrameHeader, type CodecErrorCode, type Request } from '@streampy/codec';
const frame: Uint8Array = encodeFrame('x');
const length: bigint = readFrameHeader(frame).declaredLength;
const payloads: Uint8Array[] = new FrameDecoder({ maxFrameBytes: 1024 }).push(frame);
const request: Request = parseRequest(decodeFrame(frame));
const body: Uint8Array | undefined = request.verb === 'PUT' ? request.body : undefined;
const code: CodecErrorCode = new CodecError('ERR_EMPTY', 'x').code;
// @ts-expect-error a number is not a payload
encodeFrame(42);
// @ts-expect-error not a CodecErrorCode
const wrong: CodecErrorCode = 'ERR_NOPE';
export { body, code, length, payloads, wrong };
`;

const tmp = mkdtempSync(join(tmpdir(), 'streampy-codec-pack-'));
try {
  run('pnpm', ['pack', '--pack-destination', tmp], packageDir);
  const tarballs = readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
  check('pnpm pack made one tarball', tarballs.length === 1, tarballs.join(', '));
  const tarball = join(tmp, tarballs[0]);

  const consumer = join(tmp, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball], consumer);
  const installed = join(consumer, 'node_modules', '@streampy', 'codec');
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  const depFields = ['dependencies', 'peerDependencies', 'optionalDependencies'].filter((f) => Object.keys(manifest[f] ?? {}).length > 0);
  check('installed package.json declares no dependencies', depFields.length === 0, depFields.join(', '));
  const shipped = readdirSync(installed).sort();
  // src ships so the source maps resolve (go to definition lands in the TypeScript source).
  const allowed = ['dist', 'src', 'README.md', 'package.json', 'LICENSE', 'CHANGELOG.md'];
  check('tarball ships dist, src, README and package.json, nothing else', ['dist', 'src', 'README.md', 'package.json'].every((f) => shipped.includes(f)) && shipped.every((f) => allowed.includes(f)), shipped.join(', '));
  check('tarball has no build info or tests', !readdirSync(join(installed, 'dist')).some((f) => f.includes('tsbuildinfo') || f.includes('.test.')));
  check('installed node_modules holds only the codec', readdirSync(join(consumer, 'node_modules')).filter((f) => !f.startsWith('.')).join() === '@streampy');

  writeFileSync(join(consumer, 'smoke.mjs'), SMOKE_MJS);
  const smoke = run(process.execPath, ['smoke.mjs'], consumer).trim();
  check('plain ESM import encodes and decodes', smoke === 'smoke ok', smoke);

  writeFileSync(join(consumer, 'check.ts'), CHECK_TS);
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], types: [], noEmit: true, skipLibCheck: false },
      files: ['check.ts'],
    }),
  );
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], consumer);
  check('shipped .d.ts type-check under --strict nodenext, without Node or DOM types', true);

  const publint = run(bin('publint'), ['run', tarball, '--strict', '--level', 'suggestion'], packageDir).trim();
  check('publint: no errors, warnings or suggestions', /all good/i.test(publint), publint);

  run(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'ascii'], packageDir);
  check('attw (esm-only profile): no problems', true);
  console.log(`pack:check @streampy/codec: all ${summary.length} checks passed\n${summary.map((line) => `  ${line}`).join('\n')}`);
} catch (error) {
  console.error(`pack:check @streampy/codec FAILED after ${summary.length} checks:\n${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
