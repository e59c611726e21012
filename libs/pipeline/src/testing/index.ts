// Test support of this library's embedded end-to-end tests (src/testing, never exported from index.ts).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packTar } from '@strata/testing';

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Writes a one-layer OCI image layout tagged "test" in `dir`; `configText` replaces the config JSON when given. */
export async function ociImage(dir: string, files: Record<string, string>, configText?: (diffId: string) => string): Promise<string> {
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const blob = (data: Buffer | string): { digest: string; size: number } => {
    const buf = Buffer.from(data);
    writeFileSync(join(dir, 'blobs/sha256', sha256(buf)), buf);
    return { digest: `sha256:${sha256(buf)}`, size: buf.length };
  };
  const layerTar = await packTar(Object.entries(files).map(([name, content]) => ({ name, content })));
  const diffId = `sha256:${sha256(layerTar)}`;
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(gzipSync(layerTar)) };
  const config = blob(
    configText
      ? configText(diffId)
      : JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] }, history: [{ created_by: 'test' }] }),
  );
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [layer],
    }),
  );
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'test' } }],
    }),
  );
  return `oci:${dir}:test`;
}
