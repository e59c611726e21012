// Configuration from environment variables, validated once at start-up. Every bad or missing
// value is reported in one error, and secret values never appear in messages or dumps.
import { describeError } from '@strata/errors';

export interface Setting<T> {
  description: string;
  secret?: boolean;
  /** raw is undefined when the variable is unset or empty */
  parse(raw: string | undefined): T;
}

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

type Options<T> = { description: string; default?: T; secret?: boolean };

/** A setting that is required unless it has a default; a set value goes through `convert`, which throws on a bad one. */
function converted<T>(opts: Options<T>, convert: (raw: string) => T): Setting<T> {
  return {
    ...opts,
    parse(raw) {
      if (raw !== undefined) return convert(raw);
      if (opts.default !== undefined) return opts.default;
      throw new Error('is required but not set');
    },
  };
}

export const setting = {
  string(opts: Options<string>): Setting<string> {
    return converted(opts, (v) => v);
  },
  optionalString(opts: Omit<Options<string>, 'default'>): Setting<string | undefined> {
    return { ...opts, parse: (raw) => raw };
  },
  integer(opts: Options<number> & { min?: number; max?: number }): Setting<number> {
    return converted(opts, (v) => {
      const n = Number(v);
      if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new Error(`must be an integer, got "${v}"`);
      if (opts.min !== undefined && n < opts.min) throw new Error(`must be >= ${opts.min}, got ${n}`);
      if (opts.max !== undefined && n > opts.max) throw new Error(`must be <= ${opts.max}, got ${n}`);
      return n;
    });
  },
  boolean(opts: Options<boolean>): Setting<boolean> {
    return converted(opts, (v) => {
      const lower = v.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
      if (['0', 'false', 'no', 'off'].includes(lower)) return false;
      throw new Error(`must be true or false, got "${v}"`);
    });
  },
  list(opts: Options<string[]>): Setting<string[]> {
    return converted(opts, (v) => {
      const items = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (items.length === 0) throw new Error('must list at least one value');
      return items;
    });
  },
  url(opts: Options<string>): Setting<string> {
    return converted(opts, (v) => {
      try {
        return new URL(v).toString().replace(/\/$/, '');
      } catch {
        throw new Error(`must be a URL, got "${v}"`);
      }
    });
  },
  oneOf<const T extends string>(values: readonly T[], opts: Options<T>): Setting<T> {
    return converted(opts, (v) => {
      if (!(values as readonly string[]).includes(v)) throw new Error(`must be one of ${values.join(', ')}, got "${v}"`);
      return v as T;
    });
  },
};

export type ConfigOf<S extends Record<string, Setting<unknown>>> = { [K in keyof S]: ReturnType<S[K]['parse']> };

/** Reads every variable of the spec; throws one SettingsError listing each problem. */
export function loadConfig<S extends Record<string, Setting<unknown>>>(spec: S, source: Record<string, string | undefined> = process.env): ConfigOf<S> {
  const problems: string[] = [];
  const result: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(spec)) {
    const raw = source[name];
    try {
      result[name] = item.parse(raw === undefined || raw === '' ? undefined : raw);
    } catch (error) {
      // a secret's value never appears in the message, even when it failed to parse
      const message = item.secret ? 'is invalid' : describeError(error);
      problems.push(`${name} ${message} (${item.description})`);
    }
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return result as ConfigOf<S>;
}

/** The configuration with secrets masked, fit for a start-up log line. */
export function describeConfig<S extends Record<string, Setting<unknown>>>(spec: S, config: ConfigOf<S>): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const name of Object.keys(spec)) {
    const value = config[name as keyof S];
    shown[name] = spec[name]?.secret && value !== undefined ? '[redacted]' : value;
  }
  return shown;
}
