// Stream and image checks of this project's tests: drain a stream (bytes, sha256, magic), name a blob's compression, ask skopeo.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** Reads a stream to its end: byte count, sha256 and the first bytes (magic). */
export async function drain(stream: Readable | NodeJS.ReadableStream): Promise<{ bytes: number; sha256: string; head: Buffer }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let head = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (head.length < 8) head = Buffer.concat([head, chunk.subarray(0, 8 - head.length)]);
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: `sha256:${hash.digest('hex')}`, head };
}

export function compressionOf(head: Buffer): 'gzip' | 'zstd' | 'tar' {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'tar';
}

/** skopeo as the oracle: the raw manifest and the config of a registry image. */
export function skopeoInspect(ref: string, what: '--raw' | '--config', creds?: string): Record<string, unknown> {
  const args = ['inspect', what, '--tls-verify=false', ...(creds ? ['--creds', creds] : []), `docker://${ref}`];
  return JSON.parse(execFileSync('skopeo', args, { encoding: 'utf8' })) as Record<string, unknown>;
}
