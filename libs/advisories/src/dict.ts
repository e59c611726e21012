// Dictionaries keyed by names from outside (package names, record ids, ecosystems): advisory data
// can name a package "constructor" or "__proto__", so these never inherit from Object.prototype,
// and reads only see own keys (a manifest read back with JSON.parse is an ordinary object).

/** An empty dictionary with no prototype: every key, "__proto__" included, is a plain own key. */
export function newDict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** The value stored under key itself, never one inherited from a prototype. */
export function ownEntry<T>(dict: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return dict !== undefined && Object.hasOwn(dict, key) ? dict[key] : undefined;
}

/** A prototype-free copy of a dictionary read from JSON (JSON.parse keeps "__proto__" as an own key). */
export function toDict<T>(value: Readonly<Record<string, T>> | undefined): Record<string, T> {
  const out = newDict<T>();
  if (value) for (const key of Object.keys(value)) out[key] = value[key] as T;
  return out;
}
