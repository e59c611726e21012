// The console's HTTP API as the pages use it: typed GETs and POSTs (the types are the server's,
// services/gateway/src/console/api.ts), and the live event stream.
import type {
  ApiError,
  FindingsEvent,
  FindingsResponse,
  ImageDetail,
  ImagesResponse,
  OverviewResponse,
  PackagesResponse,
  ScanAccepted,
  ScanEvent,
  ScanInfo,
  ScanRequest,
  ScansResponse,
  StatusResponse,
  TrendResponse,
  VulnerabilityResponse,
} from '../../src/console/api.js';

export type * from '../../src/console/api.js';

/** An answer other than 2xx, with the server's one-sentence message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | undefined>;

function url(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function failure(res: Response): Promise<HttpError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as Partial<ApiError>;
    if (typeof body.error === 'string') message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  return new HttpError(res.status, message);
}

/** Called when an answer says the session is gone (401): the app shows the login form. */
let onUnauthorized: () => void = () => undefined;
export const setUnauthorizedHandler = (handler: () => void): void => {
  onUnauthorized = handler;
};

async function get<T>(path: string, query?: Query): Promise<T> {
  const res = await fetch(url(path, query), { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    throw await failure(res);
  }
  return (await res.json()) as T;
}

async function post(path: string, body: unknown): Promise<Response> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await failure(res);
  return res;
}

const enc = encodeURIComponent;

export interface Filters {
  repo?: string;
  severity?: string;
  fixedOnly?: '1';
}

export const api = {
  status: () => get<StatusResponse>('/api/v1/status'),
  login: async (token: string): Promise<void> => {
    await post('/login', { token });
  },
  logout: async (): Promise<void> => {
    await post('/logout', {});
  },
  overview: (f: Filters) => get<OverviewResponse>('/api/v1/overview', { ...f }),
  trend: (f: Filters, days = 30) => get<TrendResponse>('/api/v1/trend', { ...f, days }),
  images: (f: Filters & { sort?: 'name' | 'risk'; cursor?: string; limit?: number }) => get<ImagesResponse>('/api/v1/images', { ...f }),
  image: (digest: string) => get<ImageDetail>(`/api/v1/images/${enc(digest)}`),
  packages: (digest: string, q: { layer?: string; cursor?: string; limit?: number }) => get<PackagesResponse>(`/api/v1/images/${enc(digest)}/packages`, q),
  findings: (digest: string, q: { severity?: string; fixedOnly?: '1'; layer?: string; cursor?: string; limit?: number }) =>
    get<FindingsResponse>(`/api/v1/images/${enc(digest)}/findings`, q),
  reportUrl: (digest: string, format: string) => url(`/api/v1/images/${enc(digest)}/report`, { format }),
  vulnerability: (id: string, q: { cursor?: string; limit?: number }) => get<VulnerabilityResponse>(`/api/v1/vulnerabilities/${enc(id)}`, q),
  scan: async (request: ScanRequest): Promise<ScanAccepted> => (await (await post('/api/v1/scans', request)).json()) as ScanAccepted,
  scanInfo: (scanId: string) => get<ScanInfo>(`/api/v1/scans/${enc(scanId)}`),
  scans: (q: { cursor?: string; limit?: number }) => get<ScansResponse>('/api/v1/scans', q),
};

// --- live events -----------------------------------------------------------------------------

export type LiveState = 'connecting' | 'live' | 'down';

export interface LiveListener {
  findings?(event: FindingsEvent): void;
  scan?(event: ScanEvent): void;
}

/**
 * One EventSource for the whole app; pages add listeners for as long as they are shown. The
 * browser reconnects on its own after an error; an `overflow` (we fell behind) is answered by a
 * fresh connection, and pages reload what they show.
 */
export function liveEvents(onState: (state: LiveState) => void) {
  const listeners = new Set<LiveListener>();
  let source: EventSource | undefined;
  const parse = (e: Event): unknown => {
    try {
      return JSON.parse((e as MessageEvent<string>).data) as unknown;
    } catch {
      return undefined;
    }
  };
  const open = () => {
    source?.close();
    onState('connecting');
    const es = new EventSource('/api/v1/events', { withCredentials: true });
    source = es;
    es.addEventListener('open', () => onState('live'));
    es.addEventListener('hello', () => onState('live'));
    es.addEventListener('error', () => onState(es.readyState === EventSource.CLOSED ? 'down' : 'connecting'));
    es.addEventListener('findings', (e) => {
      const data = parse(e) as FindingsEvent | undefined;
      if (data) for (const l of listeners) l.findings?.(data);
    });
    es.addEventListener('scan', (e) => {
      const data = parse(e) as ScanEvent | undefined;
      if (data) for (const l of listeners) l.scan?.(data);
    });
    es.addEventListener('overflow', () => open());
  };
  return {
    start: open,
    stop: () => {
      source?.close();
      source = undefined;
      onState('down');
    },
    listen(listener: LiveListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
export type Live = ReturnType<typeof liveEvents>;
