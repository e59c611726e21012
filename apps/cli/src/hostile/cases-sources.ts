// Added kinds: untrusted registries and untrusted advisory mirrors, served by loopback HTTP servers
// in this test process (the CLI runs as an async child, so they can answer it).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { scanJson, type HostileCase } from './harness.js';
import { honestRecords, sha256, writeFile } from './images.js';
import { tar } from './tar.js';
import { zip } from '@strata/testing';

async function serve(handler: RequestListener, use: (base: string) => Promise<void>): Promise<void> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await use(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const endless = (res: import('node:http').ServerResponse): void => {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
};

const goodDump = (): Buffer => zip(honestRecords().map((r) => ({ name: `${String(r.id)}.json`, content: JSON.stringify(r) })));

/** A db folder already holding a good npm dump; the update must keep it on failure. */
function seededDb(dir: string): string {
  writeFile(join(dir, 'npm', 'all.zip'), goodDump());
  return dir;
}

export const sourceCases: HostileCase[] = [
  {
    name: 'registry: a manifest body that never ends',
    kind: 'untrusted registry (added)',
    run: (ctx, honest) =>
      serve(
        (req, res) => {
          if (req.url === '/v2/' || req.url === '/v2') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
          res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
          endless(res);
        },
        async (host) => {
          const run = await scanJson(ctx, [`${host}/hostile/endless:latest`], honest.db);
          assert.equal(run.status, 1);
        },
      ),
  },
  {
    name: 'registry: a layer blob that never ends (manifest and config honest)',
    kind: 'untrusted registry (added)',
    run: (ctx, honest) => {
      const layerTar = tar([{ name: 'etc/hostname', content: 'x\n' }]);
      const layer = gzipSync(layerTar);
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] } }));
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
        }),
      );
      return serve(
        (req, res) => {
          const url = req.url ?? '';
          if (url === '/v2/' || url === '/v2') return void res.writeHead(200).end('{}');
          if (url.includes('/manifests/'))
            return void res
              .writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': sha256(manifest) })
              .end(manifest);
          if (url.endsWith(sha256(config))) return void res.writeHead(200).end(config);
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          endless(res);
        },
        async (host) => {
          const run = await scanJson(ctx, [`${host}/hostile/blob:latest`], honest.db);
          assert.equal(run.status, 1);
        },
      );
    },
  },
  {
    name: 'mirror: an endless chunked all.zip stops at the download bound and keeps the old dump',
    kind: 'untrusted advisory mirror (added)',
    run: (ctx) => {
      const db = seededDb(ctx.path('db'));
      const before = readFileSync(join(db, 'npm', 'all.zip'));
      return serve(
        (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/zip' });
          endless(res);
        },
        async (host) => {
          const run = await ctx.strata(['db', 'update', '--db', db, '--ecosystem', 'npm', '--base-url', `http://${host}`], {
            outputs: [db],
            env: { STRATA_DB_MAX_DOWNLOAD_BYTES: '1048576' },
          });
          assert.equal(run.status, 1);
          assert.deepEqual(readFileSync(join(db, 'npm', 'all.zip')), before, 'the previous dump is kept');
        },
      );
    },
  },
  {
    name: 'mirror: an HTML page instead of a zip keeps the old dump',
    kind: 'untrusted advisory mirror (added)',
    run: (ctx) => {
      const db = seededDb(ctx.path('db'));
      const before = readFileSync(join(db, 'npm', 'all.zip'));
      return serve(
        (_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'),
        async (host) => {
          const run = await ctx.strata(['db', 'update', '--db', db, '--ecosystem', 'npm', '--base-url', `http://${host}`], { outputs: [db] });
          assert.equal(run.status, 1);
          assert.deepEqual(readFileSync(join(db, 'npm', 'all.zip')), before);
        },
      );
    },
  },
  {
    name: 'mirror: a redirect to another origin is refused',
    kind: 'untrusted advisory mirror (added)',
    run: (ctx) => {
      const db = seededDb(ctx.path('db'));
      let otherHit = false;
      return serve(
        (_req, res) => {
          otherHit = true;
          res.writeHead(200).end(goodDump());
        },
        (other) =>
          serve(
            (_req, res) => void res.writeHead(302, { location: `http://localhost:${other.split(':')[1]}/npm/all.zip` }).end(),
            async (host) => {
              const run = await ctx.strata(['db', 'update', '--db', db, '--ecosystem', 'npm', '--base-url', `http://${host}`], { outputs: [db] });
              assert.equal(run.status, 1);
              assert.equal(otherHit, false, 'the other origin got no request');
            },
          ),
      );
    },
  },
  {
    name: 'mirror: a dump with a ../ entry installs, skipping that entry',
    kind: 'untrusted advisory mirror (added)',
    run: (ctx) => {
      const db = ctx.path('db');
      const dump = zip([
        { name: '../../escape.json', content: JSON.stringify(honestRecords()[0]) },
        ...honestRecords().map((r) => ({ name: `${String(r.id)}.json`, content: JSON.stringify(r) })),
      ]);
      return serve(
        (_req, res) => void res.writeHead(200, { 'content-type': 'application/zip' }).end(dump),
        async (host) => {
          const run = await ctx.strata(['db', 'update', '--db', db, '--ecosystem', 'npm', '--base-url', `http://${host}`], { outputs: [db] });
          assert.equal(run.status, 0, run.stderr);
          assert.match(run.stderr, /escape\.json/);
        },
      );
    },
  },
];
