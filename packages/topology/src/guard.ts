import type { Child } from './child.js';

/**
 * Whatever way a runner ends (an error, an uncaught exception, a second Ctrl-C that exits at
 * once), no child may outlive it: children run in their own process groups, so nothing else
 * would stop them. Returns the `track` function to hand every child to.
 */
export function guardChildren(program: string): (child: Child) => void {
  const children = new Set<Child>();
  const killAll = (): void => {
    for (const child of children) child.signal('SIGKILL');
  };
  process.on('exit', killAll);
  const crash = (error: unknown): void => {
    process.stderr.write(`${program}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    killAll();
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  return (child) => {
    children.add(child);
    void child.exited.then(() => children.delete(child));
  };
}
