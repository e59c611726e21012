// Static files of the console UI bundle: only regular files under the bundle directory (no `..`,
// no dot files, no symlink leading out), with their content type, a strict CSP, and index.html for
// every other path (the UI's client-side routes).
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { HttpError, SECURITY_HEADERS } from './http.js';

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticFiles {
  /** Answers a GET/HEAD of a non-API path. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
}

export function staticFiles(dir: string): StaticFiles {
  let root: Promise<string | undefined> | undefined;
  const rootDir = () => (root ??= realpath(dir).catch(() => undefined));

  /** The real path of a file inside the root, or undefined. */
  async function resolve(relative: string): Promise<{ path: string; size: number; mtime: Date } | undefined> {
    const base = await rootDir();
    if (!base) return undefined;
    let real: string;
    try {
      real = await realpath(join(base, relative));
    } catch {
      return undefined;
    }
    if (!real.startsWith(base + sep)) return undefined;
    const info = await stat(real).catch(() => undefined);
    return info?.isFile() ? { path: real, size: info.size, mtime: info.mtime } : undefined;
  }

  return {
    async serve(req, res, pathname) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(pathname);
      } catch {
        throw new HttpError(400, 'the path is not valid percent-encoding');
      }
      const parts = decoded.split('/').filter((p) => p !== '');
      if (parts.some((p) => p === '..' || p.startsWith('.') || p.includes('\\') || p.includes('\u0000'))) throw new HttpError(404, 'no such file');
      const asked = parts.join('/');
      // A path that names a file (has an extension) must exist; anything else is a UI route.
      let file = asked === '' ? undefined : await resolve(asked);
      const isRoute = !file && extname(asked) === '';
      if (!file && isRoute) file = await resolve('index.html');
      if (!file) {
        if (isRoute && !(await rootDir()))
          throw new HttpError(503, `the console UI is not built: no ${dir}/index.html (build services/gateway/console-ui, or set GATEWAY_CONSOLE_DIR)`);
        throw new HttpError(404, 'no such file');
      }
      const type = TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream';
      const html = type.startsWith('text/html');
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': type,
        'content-length': file.size,
        'content-security-policy': CONTENT_SECURITY_POLICY,
        // hashed bundle names may be cached; the HTML always revalidates
        'cache-control': html ? 'no-cache' : 'public, max-age=300',
        'last-modified': file.mtime.toUTCString(),
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      await new Promise<void>((resolveDone, reject) => {
        const stream = createReadStream(file.path);
        stream.on('error', reject);
        res.on('close', () => {
          stream.destroy();
          resolveDone();
        });
        stream.pipe(res);
      });
    },
  };
}
