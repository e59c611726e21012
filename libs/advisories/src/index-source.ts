// The advisory index a long-running service keeps open: reopened now and then, so a new advisory
// folder version is picked up without a restart.
import type { AdvisoryLimits } from './limits.js';
import { openAdvisoryIndex, type OpenIndexResult } from './open.js';

/**
 * The advisory index, reopened every `recheckMs` (or now, with `fresh`). Reopening an unchanged
 * folder reads only the store's header and returns the handle already open; a rebuilt store is a
 * new file, and the handle on the old one keeps working for the scans still using it.
 */
export function advisoryIndexSource(
  dbDir: string,
  cacheDir: string,
  recheckMs: number,
  limits?: Partial<AdvisoryLimits>,
): (fresh?: boolean) => Promise<OpenIndexResult> {
  const reopen = (): Promise<OpenIndexResult> => openAdvisoryIndex({ dbDir, cacheDir, ...(limits ? { limits } : {}) });
  let current: Promise<OpenIndexResult> | undefined;
  let openedAt = 0;
  return (fresh = false) => {
    if (fresh || !current || Date.now() - openedAt > recheckMs) {
      const next = reopen();
      current = next;
      openedAt = Date.now();
      next.catch(() => {
        if (current === next) current = undefined;
      });
    }
    return current;
  };
}
