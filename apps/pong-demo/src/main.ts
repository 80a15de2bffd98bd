#!/usr/bin/env node
import { createRequire } from 'node:module';
import { createLogger, onStopRequest, runCli } from '@streampy/runtime';
import { guardChildren, startWebView, type RunningTopology, type WebView } from '@streampy/topology';
import { playPong, type Snapshot } from './game.js';
import { HELP, parseCommand } from './options.js';
import { Screen, renderLine, renderScreen, renderSummary } from './view.js';

const PROGRAM = 'pong-demo';
const SCREEN_INTERVAL_MS = 250;
const LINE_INTERVAL_MS = 1000;

async function main(): Promise<number> {
  const command = parseCommand(process.argv.slice(2));
  if (command.kind === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command.kind === 'version') {
    const manifest = createRequire(import.meta.url)('../package.json') as { version: string };
    process.stdout.write(`${PROGRAM} ${manifest.version}\n`);
    return 0;
  }
  const { options } = command;
  const screen = !options.json && process.stdout.isTTY ? new Screen(process.stdout) : undefined;
  // On a live screen, log lines would tear the picture: only problems are logged there.
  const logger = createLogger({ name: PROGRAM, level: screen ? 'warn' : 'info' });
  const track = guardChildren(PROGRAM);
  const stopper = new AbortController();
  let stopping = false;
  const removeStopHandlers = onStopRequest((reason) => {
    stopping = true;
    screen?.close();
    logger.info('stopping', { reason });
    if (screen) process.stderr.write('\nstopping: worker first, then counting the balls...\n');
    stopper.abort();
  });
  let web: WebView | undefined;
  const openWebView = async (running: RunningTopology, address: string): Promise<void> => {
    web = await startWebView({ address, source: running.snapshots });
    // The page's address goes to stderr: stdout is the live view, or the one JSON summary.
    process.stderr.write(`${PROGRAM}: web view at ${web.url}\n`);
  };
  const show = (snapshot: Snapshot): void => {
    if (stopping) return;
    if (screen) screen.draw(renderScreen(snapshot));
    else process.stdout.write(`${renderLine(snapshot)}\n`);
  };
  try {
    const summary = await playPong(options, {
      logger,
      stopSignal: stopper.signal,
      intervalMs: screen ? SCREEN_INTERVAL_MS : LINE_INTERVAL_MS,
      track,
      ...(options.json ? {} : { onSnapshot: show }),
      ...(options.web === undefined ? {} : { onRunning: (running: RunningTopology) => openWebView(running, options.web as string) }),
    });
    stopping = true;
    screen?.close();
    if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else process.stdout.write(`${renderSummary(summary).join('\n')}\n`);
    return 0;
  } finally {
    stopping = true;
    screen?.close();
    removeStopHandlers();
    await web?.close();
  }
}

runCli(PROGRAM, main);
