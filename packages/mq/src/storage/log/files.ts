import { open } from 'node:fs/promises';

/** fsyncs a directory, so a file created or deleted in it stays so after a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
