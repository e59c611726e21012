// Test support: push hand-crafted blobs and manifests to the anonymous test registry (for the
// bad-input cases a normal tool would refuse to produce, like a config that is not JSON).
import { createHash } from 'node:crypto';

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export async function pushBlob(registry: string, repository: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(data);
  const start = await fetch(`http://${registry}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  await start.body?.cancel();
  if (start.status !== 202) throw new Error(`blob upload to ${registry}/${repository} refused: HTTP ${start.status}`);
  const location = new URL(start.headers.get('location') ?? '', `http://${registry}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  await put.body?.cancel();
  if (put.status !== 201) throw new Error(`blob upload to ${registry}/${repository} failed: HTTP ${put.status}`);
  return { digest, size: data.length };
}

export async function pushManifest(registry: string, repository: string, tag: string, body: string, mediaType: string): Promise<string> {
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    body,
    headers: { 'Content-Type': mediaType },
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`manifest push to ${registry}/${repository}:${tag} failed: HTTP ${res.status} ${text}`);
  return sha256(body);
}
