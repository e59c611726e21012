// Authentication against the real registries: htpasswd basic auth, token auth through the test
// token server, and credential lookup from env, Docker config.json and a credential helper.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AuthError, createRegistryClient, openImage, parseReference, resolveCredentials } from './index.js';
import { startTokenServer, type TokenServer } from './testing/index.js';
import { fixtureRef, infra, loadImages, skipUnlessImages } from '@strata/testing';
import { drain } from './testing/index.js';

const skip = skipUnlessImages();
let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'strata-oci-auth-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A Docker config dir holding `config`, and an env without STRATA_USERNAME. */
async function dockerConfig(name: string, config: unknown): Promise<string> {
  const dir = join(tmp, name);
  await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return fn().finally(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

const noEnvCreds = { STRATA_USERNAME: undefined, STRATA_PASSWORD: undefined } as const;

test('basic auth: --username/--password open the image; bad ones are a 401 naming the image', { skip }, async () => {
  const basic = infra.registry('basic');
  assert.ok(basic?.username && basic.password);
  const pushed = fixtureRef('basic', 'strata/debian-tiny', 'latest');
  await withEnv({ ...noEnvCreds, DOCKER_CONFIG: join(tmp, 'none') }, async () => {
    const source = await openImage(parseReference(pushed.ref), { username: basic.username, password: basic.password });
    assert.equal(source.metadata.manifestDigest, pushed.manifestDigest);
    assert.deepEqual(source.metadata.diffIds, loadImages().images['debian-tiny'].diffIds);
    const top = source.metadata.layers.at(-1);
    assert.ok(top);
    assert.equal((await drain(await source.openLayer(top))).sha256, top.digest);

    await assert.rejects(openImage(parseReference(pushed.ref), { username: basic.username, password: 'wrong-password' }), (err: unknown) => {
      assert.ok(err instanceof AuthError);
      assert.equal(err.status, 401);
      assert.match(err.message, /authentication failed for image 127\.0\.0\.1:15001\/strata\/debian-tiny:latest/);
      assert.match(err.message, /user "strata"/);
      assert.doesNotMatch(err.message, /wrong-password/);
      return true;
    });
    await assert.rejects(openImage(parseReference(pushed.ref)), /requires credentials .*basic auth/);
    // the process is fine afterwards
    const again = await openImage(parseReference(pushed.ref), { username: basic.username, password: basic.password });
    assert.equal(again.metadata.manifestDigest, pushed.manifestDigest);
  });
});

test('credentials from STRATA_USERNAME/STRATA_PASSWORD', { skip }, async () => {
  const basic = infra.registry('basic');
  const pushed = fixtureRef('basic', 'strata/debian-multi', 'gzip-oci');
  await withEnv({ STRATA_USERNAME: basic?.username, STRATA_PASSWORD: basic?.password, DOCKER_CONFIG: join(tmp, 'none') }, async () => {
    const source = await openImage(parseReference(pushed.ref));
    assert.equal(source.metadata.manifestDigest, pushed.manifestDigest);
  });
});

test('Docker config.json: auths (base64 auth, username/password) and credHelpers/credsStore', { skip }, async () => {
  const basic = infra.registry('basic');
  assert.ok(basic?.username && basic.password);
  const pushed = fixtureRef('basic', 'strata/debian-tiny', 'latest');
  const auth = Buffer.from(`${basic.username}:${basic.password}`).toString('base64');

  // a credential helper on a temporary PATH, speaking the docker-credential-helpers protocol
  const bin = join(tmp, 'bin');
  await import('node:fs/promises').then((fs) => fs.mkdir(bin, { recursive: true }));
  const helper = join(bin, 'docker-credential-strata-test');
  await writeFile(
    helper,
    `#!/bin/sh
[ "$1" = get ] || exit 1
read -r server
echo "$server" >> "${join(tmp, 'helper-calls.log')}"
if [ "$server" = "${basic.host}" ]; then
  printf '{"ServerURL":"%s","Username":"${basic.username}","Secret":"${basic.password}"}\\n' "$server"
else
  echo "credentials not found in native keychain"; exit 1
fi
`,
  );
  await chmod(helper, 0o755);

  const configs: Record<string, unknown> = {
    'auths-base64': { auths: { [`http://${basic.host}`]: { auth } } },
    'auths-plain': { auths: { [basic.host]: { username: basic.username, password: basic.password } } },
    'cred-helper': { auths: { [basic.host]: {} }, credHelpers: { [basic.host]: 'strata-test' } },
    'creds-store': { auths: {}, credsStore: 'strata-test' },
  };
  await withEnv({ ...noEnvCreds, PATH: `${bin}:${process.env.PATH ?? ''}` }, async () => {
    for (const [name, config] of Object.entries(configs)) {
      const dir = await dockerConfig(name, config);
      const creds = await resolveCredentials(basic.host, { dockerConfigDir: dir });
      assert.deepEqual(creds, { username: basic.username, password: basic.password }, name);
      // DOCKER_CONFIG is honoured the same way as the option
      const source = await withEnv({ DOCKER_CONFIG: dir }, () => openImage(parseReference(pushed.ref)));
      assert.equal(source.metadata.manifestDigest, pushed.manifestDigest, name);
    }
    // the helper answers "not found" for another registry: anonymous, not an error
    const other = await dockerConfig('creds-store-other', { credsStore: 'strata-test' });
    assert.equal(await resolveCredentials('registry.example.com', { dockerConfigDir: other }), undefined);
    // a missing helper is a clear error
    const broken = await dockerConfig('missing-helper', { credHelpers: { [basic.host]: 'strata-missing' } });
    await assert.rejects(resolveCredentials(basic.host, { dockerConfigDir: broken }), /docker-credential-strata-missing not found on PATH/);
  });
  const calls = await import('node:fs/promises').then((fs) => fs.readFile(join(tmp, 'helper-calls.log'), 'utf8'));
  assert.ok(calls.split('\n').includes(basic.host));
});

test('token auth: bearer tokens from the test token server, with credentials and anonymous', { skip }, async (t) => {
  const token = infra.registry('token');
  assert.ok(token?.tokenKeyPath && token.tokenCertPath && token.username && token.password);
  let server: TokenServer | undefined;
  let tokensForFirstOpen = -1;
  try {
    server = await startTokenServer({ keyPath: token.tokenKeyPath, certPath: token.tokenCertPath });
    await withEnv({ ...noEnvCreds, DOCKER_CONFIG: join(tmp, 'none') }, async () => {
      const pushed = fixtureRef('token', 'strata/debian-tiny', 'latest');
      const source = await openImage(parseReference(pushed.ref), { username: token.username, password: token.password });
      assert.equal(source.metadata.manifestDigest, pushed.manifestDigest);
      await Promise.all(source.metadata.layers.map(async (layer) => assert.equal((await drain(await source.openLayer(layer))).sha256, layer.digest)));
      // manifest, config and both layers (read concurrently) shared one token for the scope
      tokensForFirstOpen = server?.requests.filter((r) => r.outcome === 'granted').length ?? -1;

      // anonymous bearer: the token server grants pull without credentials
      const small = fixtureRef('token', 'strata/small', 'latest');
      const anon = await openImage(parseReference(small.ref));
      assert.equal(anon.metadata.manifestDigest, small.manifestDigest);

      // the catalog needs registry:catalog:* which only an authenticated token carries
      const client = createRegistryClient(token.host, { credentials: { username: token.username as string, password: token.password as string } });
      const repos = await client.listRepositories();
      assert.ok(repos.includes('strata/debian-tiny') && repos.includes('strata/small'));
      assert.deepEqual(await client.listTags('strata/small'), ['latest']);

      await assert.rejects(openImage(parseReference(pushed.ref), { username: token.username, password: 'bad-password' }), (err: unknown) => {
        assert.ok(err instanceof AuthError);
        assert.match(
          err.message,
          /image 127\.0\.0\.1:15002\/strata\/debian-tiny:latest: the token server http:\/\/127\.0\.0\.1:15003\/token rejected the credentials of user "strata" \(HTTP 401\)/,
        );
        assert.doesNotMatch(err.message, /bad-password/);
        return true;
      });
      const again = await openImage(parseReference(pushed.ref), { username: token.username, password: token.password });
      assert.equal(again.metadata.manifestDigest, pushed.manifestDigest);

      // a Docker config `identitytoken` is exchanged with the OAuth2 refresh-token grant
      const withIdentity = await dockerConfig('identity-token', { auths: { [token.host]: { identitytoken: 'strata-identity-token' } } });
      const viaIdentity = await openImage(parseReference(pushed.ref), { dockerConfigDir: withIdentity });
      assert.equal(viaIdentity.metadata.manifestDigest, pushed.manifestDigest);
      const badIdentity = await dockerConfig('bad-identity-token', { auths: { [token.host]: { identitytoken: 'revoked' } } });
      await assert.rejects(openImage(parseReference(pushed.ref), { dockerConfigDir: badIdentity }), (err: unknown) => {
        assert.ok(err instanceof AuthError);
        assert.doesNotMatch(err.message, /revoked/);
        return true;
      });
    });
    if (!server.shared) {
      assert.ok(server.requests.some((r) => r.outcome === 'granted' && r.scopes.includes('repository:strata/debian-tiny:pull')));
      assert.ok(server.requests.some((r) => r.outcome === 'anonymous' && r.scopes.includes('repository:strata/small:pull')));
      assert.ok(server.requests.some((r) => r.outcome === 'rejected'));
      assert.equal(tokensForFirstOpen, 1);
    } else {
      t.diagnostic('token server on 127.0.0.1:15003 was already running in another process; request records not checked');
    }
  } finally {
    await server?.close();
  }
});
