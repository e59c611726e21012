// Manifests by tag or digest: GET verifies the bytes against the requested digest (or the
// registry's Docker-Content-Digest), HEAD answers what a watcher needs without the body.
import { BlobDigestMismatchError, NotFoundError, RegistryError } from '../errors.js';
import { digestOf, parseDigest, readAll } from '../digest.js';
import { baseMediaType, MANIFEST_ACCEPT } from '../manifest.js';
import { isDigest } from '../reference.js';
import { bodyChunks, discard, errorDetail, type HttpResponse } from './http.js';
import { send } from './request.js';
import { repoPath, signalFor, type Session } from './session.js';
import type { ManifestHead, ManifestResponse, RequestContext } from './types.js';

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export type ManifestRequest = RequestContext & { accept?: string[] };

/** A tag or digest, checked so it can go into the URL as is (registries expect a literal `:`). */
function manifestRef(session: Session, reference: string): string {
  if (!/^[\w][\w.-]{0,127}$/.test(reference) && !isDigest(reference)) {
    throw new RegistryError(`invalid tag or digest "${reference}" for registry ${session.registry}`, { registry: session.registry });
  }
  return reference;
}

function sendManifest(session: Session, method: 'GET' | 'HEAD', repository: string, reference: string, ctx: ManifestRequest): Promise<HttpResponse> {
  const signal = signalFor(session, ctx);
  return send(session, {
    method,
    url: `${session.baseUrl}/v2/${repoPath(repository)}/manifests/${manifestRef(session, reference)}`,
    scope: `repository:${repository}:pull`,
    headers: { Accept: (ctx.accept ?? MANIFEST_ACCEPT).join(', ') },
    repository,
    ...(ctx.image !== undefined ? { image: ctx.image } : {}),
    ...(signal ? { signal } : {}),
  });
}

export async function getManifest(session: Session, repository: string, reference: string, ctx: ManifestRequest = {}): Promise<ManifestResponse> {
  const { registry } = session;
  const res = await sendManifest(session, 'GET', repository, reference, ctx);
  const image = ctx.image ?? `${registry}/${repository}:${reference}`;
  if (res.status === 404) {
    const detail = await errorDetail(res);
    const what = isDigest(reference) ? `manifest ${reference}` : `tag "${reference}"`;
    throw new NotFoundError(`image ${image} not found: ${what} does not exist in repository ${repository} at ${registry}${detail ? ` (${detail})` : ''}`, {
      registry,
      repository,
      status: 404,
      image,
    });
  }
  if (!res.ok) {
    const detail = await errorDetail(res);
    throw new RegistryError(`registry ${registry} answered HTTP ${res.status} for the manifest of image ${image}${detail ? `: ${detail}` : ''}`, {
      registry,
      repository,
      status: res.status,
      image,
    });
  }
  const body = await readAll(bodyChunks(res), MAX_MANIFEST_BYTES, `manifest ${reference}`, image);
  const headerDigest = res.headers.get('docker-content-digest') ?? undefined;
  const expected = isDigest(reference) ? reference : headerDigest && /^sha(256|512):/.test(headerDigest) ? headerDigest : undefined;
  const algorithm = expected ? parseDigest(expected).algorithm : 'sha256';
  const digest = digestOf(body, algorithm);
  if (expected !== undefined && digest !== expected) {
    throw new BlobDigestMismatchError({
      kind: 'manifest',
      expected,
      actual: digest,
      image,
      detail: isDigest(reference) ? 'requested by digest' : 'as declared by Docker-Content-Digest',
    });
  }
  const mediaType = baseMediaType(res.headers.get('content-type'));
  return mediaType === undefined ? { digest, body } : { digest, body, mediaType };
}

export async function headManifest(session: Session, repository: string, reference: string, ctx: ManifestRequest = {}): Promise<ManifestHead | undefined> {
  const res = await sendManifest(session, 'HEAD', repository, reference, ctx);
  await discard(res);
  if (res.status === 404) return undefined;
  if (!res.ok) {
    throw new RegistryError(`registry ${session.registry} answered HTTP ${res.status} to HEAD of manifest ${repository}:${reference}`, {
      registry: session.registry,
      repository,
      status: res.status,
    });
  }
  const head: ManifestHead = {};
  const digest = res.headers.get('docker-content-digest');
  const mediaType = baseMediaType(res.headers.get('content-type'));
  const length = Number(res.headers.get('content-length'));
  if (digest) head.digest = digest;
  if (mediaType) head.mediaType = mediaType;
  if (Number.isFinite(length) && res.headers.get('content-length') !== null) head.size = length;
  return head;
}
