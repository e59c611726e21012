import { describeError } from '@strata/errors';
import type { BlobStore } from './types.js';

/** Stores a JSON document (layer inventories, reports). */
export function putJson(store: BlobStore, key: string, value: unknown): Promise<void> {
  return store.putObject(key, JSON.stringify(value));
}

/** Reads a JSON document, or undefined when there is none; a document that is not JSON is an error naming the key. */
export async function getJson<T = unknown>(store: BlobStore, key: string): Promise<T | undefined> {
  const bytes = await store.getObject(key);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as T;
  } catch (error) {
    throw new Error(`${key} in ${store.location} is not valid JSON: ${describeError(error)}`, { cause: error });
  }
}
