// A registry client for the OCI distribution spec on Node's global fetch: manifests, blobs,
// catalog and tag listing; WWW-Authenticate challenges (anonymous bearer, bearer with
// credentials, basic); 429 Retry-After; redirects handled by hand so the registry's
// Authorization never reaches another host; bounded retries that resume blobs with Range.
//
// The client is a Session (address, settings, auth state) handed to the functions of
// ./registry/: request (one request with auth, retries and redirects), auth, http, manifests,
// blobs and listing.
import { getBlob, getBlobBytes } from './registry/blobs.js';
import { listRepositories, listTags } from './registry/listing.js';
import { getManifest, headManifest } from './registry/manifests.js';
import { createSession } from './registry/session.js';
import type { RegistryClient, RegistryClientOptions } from './registry/types.js';

export { parseChallenge } from './registry/auth.js';
export { isLoopbackHost } from './registry/http.js';
export { parseNextLink } from './registry/listing.js';
export type { BlobOptions, ManifestHead, ManifestResponse, RegistryClient, RegistryClientOptions, RequestContext } from './registry/types.js';

export function createRegistryClient(registry: string, options: RegistryClientOptions = {}): RegistryClient {
  const session = createSession(registry, options);
  return {
    registry,
    baseUrl: session.baseUrl,
    getManifest: (repository, reference, ctx) => getManifest(session, repository, reference, ctx),
    headManifest: (repository, reference, ctx) => headManifest(session, repository, reference, ctx),
    getBlob: (repository, digest, ctx) => getBlob(session, repository, digest, ctx),
    getBlobBytes: (repository, digest, maxBytes, ctx) => getBlobBytes(session, repository, digest, maxBytes, ctx),
    listRepositories: (ctx) => listRepositories(session, ctx),
    listTags: (repository, ctx) => listTags(session, repository, ctx),
  };
}
