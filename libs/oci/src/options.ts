import type { Platform } from './reference.js';
import type { RegistryClientOptions } from './registry/types.js';

/** How to open an image: the registry client's settings (retries, timeouts, signal) plus what picks the platform and finds the credentials. */
export interface OpenOptions extends Omit<RegistryClientOptions, 'throttle'> {
  /** default linux/amd64; when given for a single-platform image, its config must match */
  platform?: Platform;
  /** --username/--password (else STRATA_USERNAME/STRATA_PASSWORD, else Docker config.json) */
  username?: string | undefined;
  password?: string | undefined;
  /** directory of the Docker config.json (default $DOCKER_CONFIG, else ~/.docker) */
  dockerConfigDir?: string;
}
