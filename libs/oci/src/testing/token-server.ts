// Test fixture: a Docker registry token server (the "realm" of the token-auth registry). It issues
// real JWTs signed with $STRATA_TEST_TOKEN_KEY, carrying the certificate in the `x5c` header, which
// docker/distribution 2.8 verifies against its rootcertbundle ($STRATA_TEST_TOKEN_CERT).
//   - valid Basic credentials, or a known refresh token (POST grant_type=refresh_token, what
//     Docker sends for an `identitytoken`): every requested action;
//   - no credentials: `pull` on repositories only (anonymous bearer);
//   - wrong credentials: 401.
// If the port is already served by another instance of this fixture (another test process),
// that instance is reused: they behave identically.
import { createPrivateKey, randomUUID, sign, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TokenServerOptions {
  keyPath: string;
  certPath: string;
  host?: string;
  port?: number;
  issuer?: string;
  service?: string;
  users?: Record<string, string>;
  /** refresh token (a Docker `identitytoken`) → account */
  refreshTokens?: Record<string, string>;
  ttlSeconds?: number;
}

export interface TokenRequestRecord {
  scopes: string[];
  account?: string;
  outcome: 'granted' | 'anonymous' | 'rejected';
}

export interface TokenServer {
  url: string;
  /** requests this process served (empty when an instance of another process is reused) */
  requests: TokenRequestRecord[];
  shared: boolean;
  close(): Promise<void>;
}

const MARKER = 'strata-test-token-server';

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

function signer(key: KeyObject): { alg: string; sign(data: Buffer): Buffer } {
  if (key.asymmetricKeyType === 'rsa') return { alg: 'RS256', sign: (data) => sign('sha256', data, key) };
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const [alg, hash] = curve === 'secp384r1' ? ['ES384', 'sha384'] : curve === 'secp521r1' ? ['ES512', 'sha512'] : ['ES256', 'sha256'];
    return { alg: alg as string, sign: (data) => sign(hash as string, data, { key, dsaEncoding: 'ieee-p1363' }) };
  }
  throw new Error(`token key type ${String(key.asymmetricKeyType)} is not supported (use RSA or EC)`);
}

/** `repository:strata/x:pull,push` → { type, name, actions } (the name may itself contain ':'). */
export function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first === -1 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function probe(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return (await res.text()).includes(MARKER);
  } catch {
    return false;
  }
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 15003;
  const issuer = options.issuer ?? 'strata-test-token-issuer';
  const service = options.service ?? 'strata-registry';
  const users = options.users ?? { strata: 'strata-pass' };
  const refreshTokens = options.refreshTokens ?? { 'strata-identity-token': 'strata' };
  const ttl = options.ttlSeconds ?? 300;
  const key = createPrivateKey(readFileSync(options.keyPath));
  const cert = new X509Certificate(readFileSync(options.certPath));
  const jws = signer(key);
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: jws.alg, x5c: [cert.raw.toString('base64')] }));
  const requests: TokenRequestRecord[] = [];

  const reject = (res: ServerResponse, scopes: string[], account: string | undefined) => {
    requests.push({ scopes, ...(account ? { account } : {}), outcome: 'rejected' });
    res.statusCode = 401;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, form: URLSearchParams | undefined) => {
    const url = new URL(req.url ?? '/', `http://${host}:${port}`);
    const scopes = [...url.searchParams.getAll('scope'), ...(form?.getAll('scope') ?? [])].flatMap((s) => s.split(' ')).filter(Boolean);
    const auth = req.headers.authorization;
    let account: string | undefined;
    if (form) {
      const refresh = form.get('refresh_token') ?? '';
      account = form.get('grant_type') === 'refresh_token' ? Object.entries(refreshTokens).find(([t]) => sameSecret(t, refresh))?.[1] : undefined;
      if (!account) return reject(res, scopes, undefined);
    } else if (auth !== undefined) {
      const m = /^Basic\s+(.+)$/i.exec(auth);
      const decoded = m ? Buffer.from(m[1] as string, 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      const user = colon === -1 ? '' : decoded.slice(0, colon);
      const password = colon === -1 ? '' : decoded.slice(colon + 1);
      const expected = users[user];
      if (expected === undefined || !sameSecret(password, expected)) return reject(res, scopes, user || undefined);
      account = user;
    }
    const access = scopes
      .map(parseScope)
      .filter((s): s is NonNullable<typeof s> => s !== undefined)
      .map((s) => ({ type: s.type, name: s.name, actions: account ? s.actions : s.type === 'repository' ? s.actions.filter((a) => a === 'pull') : [] }));
    requests.push({ scopes, ...(account ? { account } : {}), outcome: account ? 'granted' : 'anonymous' });
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer, sub: account ?? '', aud: service, exp: now + ttl, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const payload = `${header}.${b64url(JSON.stringify(claims))}`;
    const token = `${payload}.${b64url(jws.sign(Buffer.from(payload)))}`;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ token, access_token: token, expires_in: ttl, issued_at: new Date(now * 1000).toISOString() }));
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', `http://${host}:${port}`).pathname;
    if (path === '/healthz') {
      res.end(JSON.stringify({ service: MARKER }));
      return;
    }
    if (path !== '/token' || (req.method !== 'GET' && req.method !== 'POST')) {
      res.statusCode = 404;
      res.end();
      return;
    }
    if (req.method === 'GET') return handle(req, res, undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 64 * 1024) chunks.push(c);
    });
    req.on('end', () => handle(req, res, new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
  });

  const url = `http://${host}:${port}`;
  for (let attempt = 0; ; attempt++) {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve);
      server.listen(port, host, () => {
        server.off('error', resolve);
        resolve(undefined);
      });
    });
    if (!error) break;
    if (error.code !== 'EADDRINUSE') throw error;
    if (await probe(url)) return { url, requests, shared: true, close: async () => undefined };
    if (attempt >= 20) throw new Error(`token server: ${host}:${port} is taken by something that is not the strata test token server`);
    await sleep(250);
  }
  return {
    url,
    requests,
    shared: false,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
