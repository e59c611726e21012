import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { readAt } from '@strata/model';
import type { ByteSource } from '../gobinary/buildinfo.js';

/** A fresh path inside the layer's private temp directory. */
export function tempPath(dir: string, hint: string): string {
  return join(dir, `${randomBytes(6).toString('hex')}-${hint.replace(/[^A-Za-z0-9._-]/g, '_').slice(-40)}`);
}

/** Opens a file for random access; `close()` also deletes it when `remove` is set. */
export async function openTempSource(path: string, remove: boolean): Promise<ByteSource & { close(): Promise<void> }> {
  let fh: FileHandle | undefined = await open(path, 'r');
  const size = (await fh.stat()).size;
  return {
    size,
    async read(offset, length) {
      if (!fh) throw new Error(`${path} is closed`);
      return readAt(fh, offset, Math.max(0, Math.min(length, size - offset)));
    },
    async close() {
      const h = fh;
      fh = undefined;
      await h?.close();
      if (remove) await rm(path, { force: true });
    },
  };
}
