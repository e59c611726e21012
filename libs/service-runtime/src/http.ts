// The operations endpoint of a service: GET /metrics (Prometheus text) and GET /healthz.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '@strata/errors';
import type { ServiceMetrics } from './metrics.js';

export interface HealthReport {
  ok: boolean;
  /** what is wrong when not ok, or what is running */
  detail: Record<string, unknown>;
}

export interface OpsServer {
  /** http://host:port */
  readonly url: string;
  close(): Promise<void>;
}

export async function startOpsServer(options: { host: string; port: number; metrics: ServiceMetrics; health: () => HealthReport }): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      options.metrics
        .text()
        .then((body) => res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(body))
        .catch((error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${describeError(error)}\n`));
      return;
    }
    if (path === '/healthz') {
      const report = options.health();
      res
        .writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(`${JSON.stringify({ status: report.ok ? 'ok' : 'unavailable', ...report.detail })}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  // A scrape in progress must not keep a stopping service alive.
  server.keepAliveTimeout = 1_000;
  const address = await listen(server, options.port, options.host);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Listens on host:port (0: any free port); a bind error (e.g. the port in use) rejects. */
export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
