import { isQueueName } from '@streampy/codec';
import { isReservedFileName } from '@streampy/runtime';

/*
 * Each durable queue keeps its log in `<data dir>/<queue dir>`. A queue name (A-Z a-z 0-9 _ . -,
 * not starting with a dot) is a fine directory name on Linux and macOS, but two kinds of name
 * are not on Windows: one ending in a dot (Windows drops it, so `jobs.` would share `jobs`'s
 * directory) and a device name before the first dot (`con`, `NUL.x`, `com1`: not a directory
 * at all). Those two are escaped with `%`, which no queue name holds, so every other name keeps
 * the directory it always had (data dirs written before are read as they were) and reading a
 * directory name back is unambiguous.
 */

const DOT = '%2E';

/** The directory of queue `name` (a queue name) under a data dir. */
export function queueDirName(name: string): string {
  const escaped = isReservedFileName(name) ? `%${name}` : name;
  return escaped.replace(/\.+$/, (dots) => DOT.repeat(dots.length));
}

/** The queue whose directory is `dir`, or undefined when `dir` is no queue's directory. */
export function queueNameOfDir(dir: string): string | undefined {
  const name = (dir.startsWith('%') ? dir.slice(1) : dir).replaceAll(DOT, '.');
  // Only the one spelling `queueDirName` gives counts: `%jobs`, `a%2Eb` or `con` are not queues'.
  return isQueueName(name) && queueDirName(name) === dir ? name : undefined;
}
