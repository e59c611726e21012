// Test fixture: a loopback HTTP proxy in front of a real registry that misbehaves on request:
// corrupts a byte, drops the connection mid-body, answers 429 with Retry-After, redirects to
// another host, lies in Content-Type, or ignores Range. Every request is recorded.
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultAction =
  | { kind: 'forward'; responseHeaders?: Record<string, string | undefined>; ignoreRange?: boolean }
  | { kind: 'corrupt'; atByte: number }
  | { kind: 'drop'; afterBytes: number; ignoreRange?: boolean }
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'redirect'; status?: number; location: string };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  at: number;
}

/** Decides what to do with a request; `seen` counts earlier requests with the same method and path. */
export type FaultRule = (req: { method: string; path: string; headers: IncomingHttpHeaders }, seen: number) => FaultAction | undefined;

export interface FaultProxy {
  /** host:port to use as the registry */
  host: string;
  requests: RecordedRequest[];
  /** replaces the rule and forgets the requests recorded so far */
  setRule(rule: FaultRule | undefined): void;
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const [targetHost, targetPort] = target.split(':') as [string, string];
  let rule: FaultRule | undefined;
  const requests: RecordedRequest[] = [];
  const counts = new Map<string, number>();

  const server = createServer((req: IncomingMessage, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    requests.push({ method, path, headers: { ...req.headers }, at: Date.now() });
    const key = `${method} ${path.split('?')[0]}`;
    const seen = counts.get(key) ?? 0;
    counts.set(key, seen + 1);
    const action: FaultAction = rule?.({ method, path, headers: req.headers }, seen) ?? { kind: 'forward' };

    if (action.kind === 'respond') {
      res.writeHead(action.status, action.headers ?? {});
      res.end(action.body ?? '');
      return;
    }
    if (action.kind === 'redirect') {
      res.writeHead(action.status ?? 307, { Location: action.location, 'Content-Length': '0' });
      res.end();
      return;
    }
    const headers = { ...req.headers, host: target };
    if ((action.kind === 'forward' || action.kind === 'drop') && action.ignoreRange) delete headers.range;
    const upstream = request({ host: targetHost, port: Number(targetPort), method, path, headers }, (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined) out[k] = v;
      if (action.kind === 'forward') {
        if (action.ignoreRange) delete out['accept-ranges'];
        for (const [k, v] of Object.entries(action.responseHeaders ?? {})) {
          if (v === undefined) delete out[k.toLowerCase()];
          else out[k.toLowerCase()] = v;
        }
      }
      if (action.kind === 'drop' && action.ignoreRange) delete out['accept-ranges'];
      res.writeHead(up.statusCode ?? 502, out);
      if (action.kind === 'forward') {
        up.pipe(res);
        return;
      }
      let sent = 0;
      up.on('data', (chunk: Buffer) => {
        if (action.kind === 'corrupt') {
          if (action.atByte >= sent && action.atByte < sent + chunk.length) {
            chunk = Buffer.from(chunk);
            chunk[action.atByte - sent] = (chunk[action.atByte - sent] as number) ^ 0xff;
          }
          sent += chunk.length;
          res.write(chunk);
          return;
        }
        const room = action.afterBytes - sent;
        if (room <= 0) return;
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        sent += part.length;
        res.write(part, () => {
          if (sent >= action.afterBytes) {
            up.destroy();
            res.socket?.destroy();
          }
        });
      });
      up.on('end', () => res.end());
      up.on('error', () => res.socket?.destroy());
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  const port = await listen(server);
  return {
    host: `127.0.0.1:${port}`,
    requests,
    setRule(next) {
      rule = next;
      counts.clear();
      requests.length = 0;
    },
    close: () => closeServer(server),
  };
}

export interface BlobStorage {
  /** base URL using the name `localhost`, so it is another origin than 127.0.0.1 */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * Stands in for the object storage a registry redirects blob downloads to. Serves
 * `/<repository>/blobs/<digest>` by fetching it from `registryUrl` with its own credentials.
 */
export async function startBlobStorage(registryUrl: string, authorization?: string): Promise<BlobStorage> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers }, at: Date.now() });
    void (async () => {
      try {
        const upstream = await fetch(`${registryUrl}/v2${req.url ?? '/'}`, { headers: authorization ? { Authorization: authorization } : {} });
        res.writeHead(upstream.status, { 'Content-Type': 'application/octet-stream' });
        if (upstream.body) for await (const chunk of upstream.body as AsyncIterable<Uint8Array>) res.write(chunk);
        res.end();
      } catch {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      }
    })();
  });
  const port = await listen(server);
  return { url: `http://localhost:${port}`, requests, close: () => closeServer(server) };
}
