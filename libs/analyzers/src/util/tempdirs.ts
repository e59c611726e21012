import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Prefix of a layer's private temp directory; the creating process id follows, so leftovers can be told apart. */
export const LAYER_TEMP_PREFIX = 'strata-analyze-';

const live = new Set<string>();
let exitHookInstalled = false;

/** Removes whatever is still live when the process exits (process.exit, an uncaught error, the end of the event loop). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const dir of live) rmSync(dir, { recursive: true, force: true });
  });
}

/** A fresh private directory under `root` for one layer's spooled files (jars, binaries). */
export async function makeLayerTempDir(root: string): Promise<string> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(root, `${LAYER_TEMP_PREFIX}${process.pid}-`));
  live.add(dir);
  installExitHook();
  return dir;
}

export async function removeLayerTempDir(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } finally {
    live.delete(dir);
  }
}

const isAlive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes layer temp directories under `root` left by processes that are gone (a crash, a kill -9).
 * Directories of live processes (a scan running next to this one) are left alone. Returns what was removed.
 */
export async function removeStaleLayerTempDirs(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(LAYER_TEMP_PREFIX)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(LAYER_TEMP_PREFIX.length))?.[1]);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
    await rm(join(root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
