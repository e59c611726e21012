// The analyzer-bound workload of bench/pipeline: images made of distinct, large layers (tens of MB
// compressed each) whose bytes are generated deterministically, so every run and every machine
// scans the same layers (same digests, same diffIDs, same Kafka partitions). A layer looks like a
// slice of a real root filesystem: shared libraries (binary bytes of reduced entropy), docs and
// changelogs (text drawn from a word list), and package databases the analyzers parse — a dpkg
// status file with os-release in each image's first layer, Python dist-info METADATA and
// node_modules package.json files in every layer. Like real layers it compresses about 2–3×, not
// like zeros. Layers are written once to a cache folder (gzip, streamed: memory stays small) and
// reused by later runs.
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { fileLayer, type LayerBlob, type TarEntry, tarStream } from '@strata/testing';

export interface WorkloadShape {
  images: number;
  layersPerImage: number;
  /** uncompressed size of each layer, MiB */
  layerMiB: number;
}

const MiB = 1024 * 1024;
const GENERATOR_VERSION = 1;

/** A deterministic byte stream (AES-128-CTR over zeros, keyed by the seed): fast and the same everywhere. */
class Bytes {
  private readonly cipher;
  constructor(seed: string) {
    const key = createHash('sha256').update(`strata-bench-pipeline:${seed}`).digest();
    this.cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  }
  next(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n));
  }
  int(below: number): number {
    return this.next(4).readUInt32LE(0) % below;
  }
}

// A fixed vocabulary of 2,048 made-up words (3–10 letters), built from a fixed seed.
const VOCABULARY: Buffer[] = (() => {
  const bytes = new Bytes('vocabulary');
  const letters = 'etaoinshrdlcumwfgypbvkjxqz';
  const words: Buffer[] = [];
  for (let i = 0; i < 2048; i++) {
    const r = bytes.next(11);
    const len = 3 + (r[0]! % 8);
    let w = '';
    // skewed towards frequent letters, as in natural text
    for (let j = 0; j < len; j++) w += letters[Math.floor((r[j + 1]! / 256) ** 2 * letters.length)];
    words.push(Buffer.from(w));
  }
  return words;
})();

/** `size` bytes of text: lines of words from the vocabulary (compresses about 3×). */
function text(bytes: Bytes, size: number): Buffer {
  const out = Buffer.alloc(size);
  const picks = bytes.next(Math.ceil(size / 2) * 2 + 2);
  let at = 0;
  let p = 0;
  let line = 0;
  while (at < size) {
    const word = VOCABULARY[picks.readUInt16LE(p) & 2047]!;
    p = (p + 2) % (picks.length - 2);
    const n = Math.min(word.length, size - at);
    word.copy(out, at, 0, n);
    at += n;
    line += n;
    if (at < size) {
      out[at++] = line > 72 ? 10 : 32;
      if (line > 72) line = 0;
    }
  }
  return out;
}

/** `size` bytes that compress about 1.8× (each bit set with p = 1/8), like stripped machine code. */
function binary(bytes: Bytes, size: number): Buffer {
  const a = bytes.next(size);
  const b = bytes.next(size);
  const c = bytes.next(size);
  for (let i = 0; i < size; i++) a[i] = a[i]! & b[i]! & c[i]!;
  return a;
}

const arches = ['amd64', 'all'];

function dpkgStatus(bytes: Bytes, names: string[]): string {
  return names
    .map((name) => {
      const version = `${1 + bytes.int(9)}.${bytes.int(30)}.${bytes.int(20)}-${1 + bytes.int(5)}`;
      return [
        `Package: ${name}`,
        'Status: install ok installed',
        'Priority: optional',
        'Section: libs',
        `Installed-Size: ${100 + bytes.int(20000)}`,
        'Maintainer: Strata Bench <bench@example.invalid>',
        `Architecture: ${arches[bytes.int(2)]}`,
        `Source: ${name.replace(/\d+$/, '')}`,
        `Version: ${version}`,
        `Depends: libc6 (>= 2.36), ${names[bytes.int(names.length)]}`,
        `Description: ${text(bytes, 60).toString().replace(/\n/g, ' ')}`,
        ` ${text(bytes, 200).toString().replace(/\n/g, ' ')}`,
        '',
      ].join('\n');
    })
    .join('\n');
}

/** The tar entries of layer `index` (layer `index % layersPerImage` of image `index / layersPerImage`). */
function* layerEntries(shape: WorkloadShape, index: number): Generator<TarEntry> {
  const bytes = new Bytes(`layer-${index}`);
  const target = shape.layerMiB * MiB;
  const tag = `l${index}`;
  let written = 0;
  if (index % shape.layersPerImage === 0) {
    yield {
      name: 'etc/os-release',
      content: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n',
    };
    const names = Array.from({ length: 400 }, (_, j) => `libbench-${tag}-${VOCABULARY[bytes.int(2048)]!.toString()}${j}`);
    const status = dpkgStatus(bytes, names);
    written += status.length;
    yield { name: 'var/lib/dpkg/status', content: status };
  }
  for (let j = 0; j < 60; j++) {
    const name = `bench_${tag}_${VOCABULARY[bytes.int(2048)]!.toString()}${j}`;
    const version = `${bytes.int(5)}.${bytes.int(40)}.${bytes.int(10)}`;
    const dir = `usr/lib/python3/dist-packages/${name}-${version}.dist-info`;
    const metadata = `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nSummary: ${text(bytes, 70).toString().replace(/\n/g, ' ')}\nLicense: MIT\n\n${text(bytes, 2000).toString()}\n`;
    yield { name: `${dir}/METADATA`, content: metadata };
    const module = text(bytes, 16 * 1024 + bytes.int(32 * 1024));
    yield { name: `usr/lib/python3/dist-packages/${name}/__init__.py`, content: module };
    written += metadata.length + module.length;
  }
  for (let j = 0; j < 120; j++) {
    const name = `bench-${tag}-${VOCABULARY[bytes.int(2048)]!.toString()}${j}`;
    const pkg = JSON.stringify(
      { name, version: `${bytes.int(9)}.${bytes.int(30)}.${bytes.int(20)}`, license: 'MIT', description: text(bytes, 80).toString().replace(/\n/g, ' ') },
      null,
      2,
    );
    const code = text(bytes, 4 * 1024 + bytes.int(24 * 1024));
    yield { name: `usr/lib/node_modules/${name}/package.json`, content: pkg };
    yield { name: `usr/lib/node_modules/${name}/index.js`, content: code };
    written += pkg.length + code.length;
  }
  // the rest: shared libraries (55%) and documentation (45%), in files of 64 KiB–2 MiB
  for (let j = 0; written < target; j++) {
    const size = Math.min(target - written, 64 * 1024 + bytes.int(2 * MiB - 64 * 1024));
    const lib = bytes.int(100) < 55;
    const word = VOCABULARY[bytes.int(2048)]!.toString();
    yield lib
      ? { name: `usr/lib/x86_64-linux-gnu/lib${word}-${tag}-${j}.so.${1 + bytes.int(5)}`, content: binary(bytes, size) }
      : { name: `usr/share/doc/${word}-${tag}-${j}/changelog`, content: text(bytes, size) };
    written += size;
  }
}

/** Counts and hashes what flows through. */
class Hashing extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.push(chunk);
    done();
  }
}

async function writeLayer(shape: WorkloadShape, index: number, file: string): Promise<{ digest: string; diffId: string; size: number; tarBytes: number }> {
  const tar = new Hashing();
  const gz = new Hashing();
  await pipeline(tarStream(layerEntries(shape, index)), tar, createGzip({ level: 6 }), gz, createWriteStream(`${file}.part`));
  renameSync(`${file}.part`, file);
  return { digest: `sha256:${gz.hash.digest('hex')}`, diffId: `sha256:${tar.hash.digest('hex')}`, size: gz.bytes, tarBytes: tar.bytes };
}

export interface Workload {
  /** layers per image, in order */
  images: LayerBlob[][];
  /** uncompressed bytes of all layers */
  tarBytes: number;
  /** compressed bytes of all layers */
  blobBytes: number;
  /** seconds spent generating layers in this run (0 when all came from the cache) */
  generatedSeconds: number;
}

/** Builds (or reuses from `cacheDir`) the workload's layers. */
export async function analyzerWorkload(shape: WorkloadShape, cacheDir: string): Promise<Workload> {
  const dir = join(cacheDir, `v${GENERATOR_VERSION}-${shape.layerMiB}mib`);
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  let generated = false;
  const images: LayerBlob[][] = [];
  let tarBytes = 0;
  let blobBytes = 0;
  for (let i = 0; i < shape.images; i++) {
    const layers: LayerBlob[] = [];
    for (let k = 0; k < shape.layersPerImage; k++) {
      const index = i * shape.layersPerImage + k;
      // a layer's content depends on its index and whether it is an image's first layer
      const file = join(dir, `layer-${index}-${shape.layersPerImage}.tar.gz`);
      const meta = `${file}.json`;
      if (!existsSync(meta) || !existsSync(file)) {
        generated = true;
        writeFileSync(meta, JSON.stringify(await writeLayer(shape, index, file)));
      }
      const m = JSON.parse(readFileSync(meta, 'utf8')) as { digest: string; diffId: string; size: number; tarBytes: number };
      tarBytes += m.tarBytes;
      blobBytes += m.size;
      layers.push(await fileLayer(file, { digest: m.digest, diffId: m.diffId, createdBy: `bench layer ${index}` }));
    }
    images.push(layers);
  }
  return { images, tarBytes, blobBytes, generatedSeconds: generated ? (performance.now() - t0) / 1000 : 0 };
}
