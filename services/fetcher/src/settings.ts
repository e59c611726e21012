// Environment settings of strata-fetcher, on top of @strata/service-runtime's.
import { setting, type ConfigOf, type Setting } from '@strata/config';
import type { RuntimeConfig } from '@strata/service-runtime';
import { findingsDbSettings, registryCredentialsSetting } from '@strata/stage-runtime';

export const fetcherSettings = {
  STRATA_REGISTRY_CREDENTIALS: registryCredentialsSetting,
  DOCKER_CONFIG: setting.optionalString({ description: "folder of Docker's config.json, for scans without credentials_ref (default ~/.docker)" }),
  STRATA_REGISTRY_INSECURE: setting.boolean({ description: 'plain HTTP for registries that are not on loopback', default: false }),
  ...findingsDbSettings('scan records, and the blob references the sweeper goes by (no sweeper without it)'),
  STRATA_SWEEP_INTERVAL_MS: setting.integer({
    description: 'how often the sweeper deletes layer blobs and layer results no scan referenced for STRATA_SWEEP_GRACE_MS (0 = never; needs STRATA_PG_URL)',
    default: 3_600_000,
    min: 0,
  }),
  STRATA_SWEEP_GRACE_MS: setting.integer({
    description: 'how long a layer blob or layer result is kept after a scan last referenced it (longer than any scan takes)',
    default: 7 * 24 * 3_600_000,
    min: 1_000,
  }),
  STRATA_SWEEP_OPEN_SCAN_MS: setting.integer({
    description: 'a QUEUED/RUNNING scan updated within this keeps every key of its image, however old (a stuck scan older than this protects nothing)',
    default: 24 * 3_600_000,
    min: 1_000,
  }),
  STRATA_SWEEP_BATCH: setting.integer({ description: 'keys the sweeper deletes per transaction', default: 200, min: 1 }),
} satisfies Record<string, Setting<unknown>>;

export type FetcherConfig = ConfigOf<typeof fetcherSettings> & RuntimeConfig;
