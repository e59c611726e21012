// Environment settings of strata-fetcher, on top of @strata/service-runtime's.
import { setting, type ConfigOf, type Setting } from '@strata/config';
import type { RuntimeConfig } from '@strata/service-runtime';
import { registryCredentialsSetting } from '@strata/stage-runtime';

export const fetcherSettings = {
  STRATA_REGISTRY_CREDENTIALS: registryCredentialsSetting,
  DOCKER_CONFIG: setting.optionalString({ description: "folder of Docker's config.json, for scans without credentials_ref (default ~/.docker)" }),
  STRATA_REGISTRY_INSECURE: setting.boolean({ description: 'plain HTTP for registries that are not on loopback', default: false }),
} satisfies Record<string, Setting<unknown>>;

export type FetcherConfig = ConfigOf<typeof fetcherSettings> & RuntimeConfig;
