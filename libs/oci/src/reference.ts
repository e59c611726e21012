// Image references and platforms: `[registry/]repo[:tag][@digest]` with Docker Hub defaults,
// `oci:<dir>[:<tag>]`, `oci-archive:<file.tar>[:<tag>]`, `docker-archive:<file.tar>[:<name:tag>]`.
import { InvalidReferenceError } from './errors.js';

export type ImageReference =
  | {
      kind: 'registry';
      /** host[:port]; docker.io is stored as registry-1.docker.io */
      registry: string;
      /** repository path; `library/` added for single-component Docker Hub names */
      repository: string;
      /** 'latest' when neither tag nor digest was given */
      tag?: string;
      digest?: string;
      original: string;
    }
  | { kind: 'oci-layout'; dir: string; tag?: string; original: string }
  | { kind: 'oci-archive'; path: string; tag?: string; original: string }
  | {
      kind: 'docker-archive';
      path: string;
      /** `name:tag` (or `@<index>`) picking one image of a multi-image archive */
      imageName?: string;
      original: string;
    };

export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

function splitTransport(input: string): { transport: string; rest: string } | undefined {
  const match = /^(oci|oci-archive|docker-archive|docker):(.*)$/s.exec(input);
  if (!match) return undefined;
  return { transport: match[1] as string, rest: match[2] as string };
}

/** Parses a reference as users type it (and as skopeo spells the transports). */
export function parseReference(input: string): ImageReference {
  const original = input;
  const text = input.trim();
  if (text === '') throw new InvalidReferenceError('empty image reference');
  const transport = splitTransport(text);
  if (transport && transport.transport !== 'docker') {
    // Like skopeo, the location ends at the first ':'; what follows names the image inside it.
    const colon = transport.rest.indexOf(':');
    const location = colon === -1 ? transport.rest : transport.rest.slice(0, colon);
    const inner = colon === -1 ? undefined : transport.rest.slice(colon + 1);
    if (location === '') throw new InvalidReferenceError(`image reference "${input}" has no path after "${transport.transport}:"`);
    if (inner !== undefined && inner === '') throw new InvalidReferenceError(`image reference "${input}" ends with an empty name after ":"`);
    switch (transport.transport) {
      case 'oci':
        return inner === undefined ? { kind: 'oci-layout', dir: location, original } : { kind: 'oci-layout', dir: location, tag: inner, original };
      case 'oci-archive':
        return inner === undefined ? { kind: 'oci-archive', path: location, original } : { kind: 'oci-archive', path: location, tag: inner, original };
      default:
        return inner === undefined
          ? { kind: 'docker-archive', path: location, original }
          : { kind: 'docker-archive', path: location, imageName: inner, original };
    }
  }
  const name = transport ? transport.rest.replace(/^\/\//, '') : text;
  return parseRegistryReference(name, original);
}

function parseRegistryReference(text: string, original: string): ImageReference {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) {
      throw new InvalidReferenceError(`image reference "${original}" has an invalid digest "${digest}" (expected sha256:<64 hex>)`);
    }
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(`image reference "${original}" has an invalid tag "${tag}"`);
  }
  let registry = 'docker.io';
  let repository = rest;
  const firstSlash = rest.indexOf('/');
  if (firstSlash !== -1) {
    const first = rest.slice(0, firstSlash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      registry = first;
      repository = rest.slice(firstSlash + 1);
    }
  }
  if (!HOST.test(registry)) throw new InvalidReferenceError(`image reference "${original}" has an invalid registry host "${registry}"`);
  if (repository === '') throw new InvalidReferenceError(`image reference "${original}" has no repository name`);
  if (repository !== repository.toLowerCase()) {
    throw new InvalidReferenceError(`image reference "${original}": repository name "${repository}" must be lowercase`);
  }
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw new InvalidReferenceError(`image reference "${original}" has an invalid repository path component "${component}"`);
    }
  }
  if (repository.length > 255) throw new InvalidReferenceError(`image reference "${original}": repository name longer than 255 characters`);
  if (DOCKER_HUB_ALIASES.has(registry.toLowerCase())) {
    registry = DOCKER_HUB_REGISTRY;
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  const ref: ImageReference = { kind: 'registry', registry, repository, original };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The name users know an image by: `alpine`, `user/app`, `127.0.0.1:15000/strata/x` (no tag). */
export function familiarName(registry: string, repository: string): string {
  if (registry === DOCKER_HUB_REGISTRY) return repository.startsWith('library/') ? repository.slice('library/'.length) : repository;
  return `${registry}/${repository}`;
}

/** A printable form of a reference, for messages. */
export function describeReference(ref: ImageReference): string {
  switch (ref.kind) {
    case 'registry':
      return `${familiarName(ref.registry, ref.repository)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
    case 'oci-layout':
      return `oci:${ref.dir}${ref.tag !== undefined ? `:${ref.tag}` : ''}`;
    case 'oci-archive':
      return `oci-archive:${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ''}`;
    case 'docker-archive':
      return `docker-archive:${ref.path}${ref.imageName !== undefined ? `:${ref.imageName}` : ''}`;
  }
}

// --- platforms -----------------------------------------------------------------------------

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

const ARCH_ALIASES: Record<string, Platform['architecture']> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  i386: '386',
  i686: '386',
  armhf: 'arm',
  armel: 'arm',
};

/** Canonical form: arch aliases resolved, arm64's implicit v8 and arm's implicit v7 made explicit. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  const raw = p.architecture.toLowerCase();
  const architecture = ARCH_ALIASES[raw] ?? raw;
  let variant = p.variant?.toLowerCase();
  if (variant === undefined || variant === '') {
    if (raw === 'armel') variant = 'v6';
    else if (architecture === 'arm64') variant = 'v8';
    else if (architecture === 'arm') variant = 'v7';
    else variant = undefined;
  }
  if (architecture === 'arm64' && variant === '8') variant = 'v8';
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** `os/arch[/variant]`, e.g. `linux/arm64/v8`. */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '' || /\s/.test(p))) {
    throw new InvalidReferenceError(`invalid platform "${s}" (expected os/arch[/variant], e.g. linux/arm64/v8)`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  const platform: Platform = { os: os.toLowerCase(), architecture: architecture.toLowerCase() };
  if (variant !== undefined) platform.variant = variant.toLowerCase();
  return platform;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Does `candidate` (from an index or a config) satisfy the `wanted` platform? */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return false;
  // A request without a variant accepts any variant; one with a variant needs that variant.
  return w.variant === undefined || w.variant === c.variant;
}
