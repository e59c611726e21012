// An image config is written by whoever built the image. Reports and stored metadata carry only
// its known fields, each bounded, so a config nested 100,000 levels deep or holding megabytes of
// unknown fields cannot break JSON output (JSON.stringify recurses) or bloat every report.

/** Longest string kept from a config (a long RUN command in created_by stays whole). */
export const MAX_CONFIG_STRING = 64 * 1024;
/** Most items kept from one list (history, Env, Cmd, ...) or map (Labels, ExposedPorts, Volumes). */
export const MAX_CONFIG_ITEMS = 10_000;
/** Deepest JSON nesting a config may have: real configs nest four levels. */
export const MAX_CONFIG_DEPTH = 64;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function boundedString(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  return v.length <= MAX_CONFIG_STRING ? v : `${v.slice(0, MAX_CONFIG_STRING)}… [cut: ${v.length} characters]`;
}

function stringList(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (const item of v.slice(0, MAX_CONFIG_ITEMS)) {
    const s = boundedString(item);
    if (s !== undefined) out.push(s);
  }
  return out;
}

/** A map's own keys and values; Object.fromEntries keeps a "__proto__" key as an ordinary key. */
function stringMap(v: unknown, value: (x: unknown) => unknown): Record<string, unknown> | undefined {
  if (!isRecord(v)) return undefined;
  const entries: [string, unknown][] = [];
  for (const key of Object.keys(v).slice(0, MAX_CONFIG_ITEMS)) {
    const k = boundedString(key);
    const x = value(v[key]);
    if (k !== undefined && x !== undefined) entries.push([k, x]);
  }
  return Object.fromEntries(entries);
}

const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);

/** Sets the fields of `from` that `pick` accepts, in `fields` order; unknown and malformed fields are left out. */
function pickFields(from: Record<string, unknown>, fields: [string, (v: unknown) => unknown][]): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  for (const [name, pick] of fields) {
    if (!Object.hasOwn(from, name)) continue;
    const value = pick(from[name]);
    if (value !== undefined) entries.push([name, value]);
  }
  return Object.fromEntries(entries);
}

const healthcheck = (v: unknown): Record<string, unknown> | undefined =>
  isRecord(v)
    ? pickFields(v, [
        ['Test', stringList],
        ['Interval', finite],
        ['Timeout', finite],
        ['StartPeriod', finite],
        ['StartInterval', finite],
        ['Retries', finite],
      ])
    : undefined;

const runConfig = (v: unknown): Record<string, unknown> | undefined =>
  isRecord(v)
    ? pickFields(v, [
        ['User', boundedString],
        ['ExposedPorts', (x) => stringMap(x, () => ({}))],
        ['Env', stringList],
        ['Entrypoint', stringList],
        ['Cmd', stringList],
        ['Volumes', (x) => stringMap(x, () => ({}))],
        ['WorkingDir', boundedString],
        ['Labels', (x) => stringMap(x, boundedString)],
        ['StopSignal', boundedString],
        ['ArgsEscaped', bool],
        ['Healthcheck', healthcheck],
        ['OnBuild', stringList],
        ['Shell', stringList],
      ])
    : undefined;

const historyEntry = (v: unknown): Record<string, unknown> | undefined =>
  isRecord(v)
    ? pickFields(v, [
        ['created', boundedString],
        ['created_by', boundedString],
        ['author', boundedString],
        ['comment', boundedString],
        ['empty_layer', bool],
      ])
    : undefined;

const history = (v: unknown): Record<string, unknown>[] | undefined => {
  if (!Array.isArray(v)) return undefined;
  return v.slice(0, MAX_CONFIG_ITEMS).map((h) => historyEntry(h) ?? {});
};

const rootfs = (v: unknown): Record<string, unknown> | undefined =>
  isRecord(v)
    ? pickFields(v, [
        ['type', boundedString],
        ['diff_ids', stringList],
      ])
    : undefined;

/**
 * The image config's known fields (OCI image spec and Docker's additions), each bounded: what a
 * report may echo as Trivy's ImageConfig. Anything else the config holds is left out.
 */
export function boundImageConfig(config: unknown): Record<string, unknown> {
  if (!isRecord(config)) return {};
  return pickFields(config, [
    ['architecture', boundedString],
    ['variant', boundedString],
    ['os', boundedString],
    ['os.version', boundedString],
    ['os.features', stringList],
    ['created', boundedString],
    ['author', boundedString],
    ['container', boundedString],
    ['docker_version', boundedString],
    ['config', runConfig],
    ['rootfs', rootfs],
    ['history', history],
  ]);
}

/**
 * True when JSON text nests arrays/objects deeper than maxDepth. One pass over the text, no
 * parsing: run before JSON.parse so that a config built to be deep is refused with a clear
 * message instead of costing hundreds of megabytes to parse.
 */
export function jsonNestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
