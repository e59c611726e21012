// Test-only helpers of this library's embedded end-to-end tests (not exported from index.ts).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export async function packTar(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(Buffer.from(chunk as Uint8Array));
  })();
  for (const [name, content] of Object.entries(files)) {
    await new Promise<void>((resolve, reject) => pack.entry({ name, mode: 0o644, mtime: new Date(0) }, content, (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Writes a one-layer OCI image layout tagged "test" in `dir`; `configText` replaces the config JSON when given. */
export async function ociImage(dir: string, files: Record<string, string>, configText?: (diffId: string) => string): Promise<string> {
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const blob = (data: Buffer | string): { digest: string; size: number } => {
    const buf = Buffer.from(data);
    writeFileSync(join(dir, 'blobs/sha256', sha256(buf)), buf);
    return { digest: `sha256:${sha256(buf)}`, size: buf.length };
  };
  const layerTar = await packTar(files);
  const diffId = `sha256:${sha256(layerTar)}`;
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(gzipSync(layerTar)) };
  const config = blob(configText ? configText(diffId) : JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] }, history: [{ created_by: 'test' }] }));
  const manifest = blob(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [layer] }));
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'test' } }] }));
  return `oci:${dir}:test`;
}
