// Layer-walk benchmark: Strata's walkLayer against plain node zlib + tar-stream and against
// `gzip -dc | tar -t`, on the same layer in the same run. Every variant runs in its own child
// process so peak RSS is per variant. Prints throughput (MB/s of uncompressed tar, by wall clock
// and by CPU time — CPU time is steadier on a shared machine), the ratios and peak RSS.
//
//   bash tools/node.sh --import tsx bench/layer-walk/run.ts [layer.tar.gz] [--rounds N] [--no-zstd] [--no-10x] [--zstd file.tar.zst]
//
// The zstd variant uses a copy recompressed by the zstd CLI (level 3, 2 MiB window) unless
// --zstd names a blob (e.g. one pushed by skopeo, whose encoder uses an 8 MiB window).
//
// Without a path: $STRATA_BENCH_LAYER, else the debootstrap base layer of the fixture images
// (fixtures/images.json → its OCI layout blob), else a stand-in made once by tarring parts of this
// machine's /usr into /tmp/strata-bench.
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { walkLayer, type LayerEntry } from '@strata/layers';
import { fixturesCacheDir } from '@strata/testing';

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
const STANDIN_DIR = '/tmp/strata-bench';

interface Measurement {
  variant: string;
  uncompressedBytes: number;
  wallSeconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  note?: string;
}

// ---------------------------------------------------------------- child side: one variant

/** What real analyzers ask for: dpkg/apk/rpm databases, language manifests, ELF candidates. */
function realisticWants(entry: LayerEntry): boolean {
  const p = entry.path;
  if (p === 'var/lib/dpkg/status' || p.startsWith('var/lib/dpkg/status.d/') || p === 'lib/apk/db/installed') return true;
  if (p.endsWith('/package.json') || p.endsWith('.dist-info/METADATA') || p.endsWith('.egg-info/PKG-INFO')) return true;
  if (p.endsWith('.gemspec') || p.endsWith('/go.mod') || p.endsWith('.jar')) return true;
  // ELF-ish: executables in bin dirs and shared objects, as a binary analyzer would want them
  return (/(^|\/)s?bin\//.test(p) && (entry.mode & 0o111) !== 0) || /\.so(\.\d+)*$/.test(p);
}

/** A layer stream; `repeat` concatenates the blob (gzip/zstd members) so its tar contents repeat. */
function layerStream(path: string, repeat: number): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < repeat; i++) yield* createReadStream(path, { highWaterMark: 64 * 1024 });
    })(),
    { objectMode: false },
  );
}

async function runStrata(path: string, mediaType: string, repeat: number): Promise<{ bytes: number; note: string }> {
  let wanted = 0;
  let wantedBytes = 0;
  let elf = 0;
  let warnings = 0;
  const summary = await walkLayer(
    layerStream(path, repeat),
    { mediaType, label: `bench:${path}` },
    {
      wants: realisticWants,
      entry: () => {},
      warning: () => void warnings++,
      async file(_entry, content) {
        wanted++;
        let first = true;
        for await (const chunk of content as AsyncIterable<Buffer>) {
          if (first && chunk.length >= 4 && chunk.readUInt32BE(0) === 0x7f454c46) elf++;
          first = false;
          wantedBytes += chunk.length;
        }
      },
      // as analyzeLayer does: small files come whole, without a stream each
      async smallFile(_entry, content) {
        wanted++;
        if (content.length >= 4 && content.readUInt32BE(0) === 0x7f454c46) elf++;
        wantedBytes += content.length;
      },
    },
  );
  return {
    bytes: summary.uncompressedBytes,
    note: `${summary.entries} entries, ${wanted} files delivered (${(wantedBytes / 1e6).toFixed(0)} MB, ${elf} ELF), ${warnings} warnings`,
  };
}

async function runNodeBaseline(path: string, repeat: number): Promise<{ bytes: number; note: string }> {
  let entries = 0;
  let bytes = 0;
  const gunzip = createGunzip();
  gunzip.on('data', (chunk: Buffer) => void (bytes += chunk.length));
  const extract = tar.extract();
  extract.on('entry', (_header, stream, next) => {
    entries++;
    stream.on('end', () => next());
    stream.resume();
  });
  await new Promise<void>((resolve, reject) =>
    pipeline(repeat === 1 ? createReadStream(path) : layerStream(path, repeat), gunzip, extract as unknown as NodeJS.WritableStream, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return { bytes, note: `${entries} entries` };
}

async function child(variant: string, path: string): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let result: { bytes: number; note: string };
  if (variant === 'strata') result = await runStrata(path, GZIP, 1);
  else if (variant === 'strata-10x') result = await runStrata(path, GZIP, 10);
  else if (variant === 'strata-zstd') result = await runStrata(path, ZSTD, 1);
  else if (variant === 'node-zlib+tar-stream') result = await runNodeBaseline(path, 1);
  else if (variant === 'node-zlib+tar-stream-10x') result = await runNodeBaseline(path, 10);
  else if (variant === 'idle (node+tsx+modules)') result = { bytes: 0, note: 'RSS floor of a child: no walk' };
  else throw new Error(`unknown variant ${variant}`);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const m: Measurement = {
    variant,
    uncompressedBytes: result.bytes,
    wallSeconds: wall,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    note: result.note,
  };
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

// ---------------------------------------------------------------- parent side

function runChild(variant: string, path: string): Measurement {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', variant, path], { maxBuffer: 1 << 24 }).toString();
  return JSON.parse(out.trim().split('\n').pop()!) as Measurement;
}

/** A shell pipeline under /usr/bin/time: wall, CPU and the largest process's RSS. */
function runCli(variant: string, script: string, uncompressedBytes: number): Measurement {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'sh', '-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${variant} failed: ${r.stderr}`);
  const [wall, user, sys, rssKiB] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number, number];
  return { variant, uncompressedBytes, wallSeconds: wall, cpuSeconds: user + sys, maxRssMiB: rssKiB / 1024 };
}

/** The debootstrap base layer blob of the fixture images (fixtures/images.json), if built. */
function findFixture(): string | undefined {
  const catalog = join(fixturesCacheDir(), 'images.json');
  if (!existsSync(catalog)) return undefined;
  interface Catalog {
    images?: Record<string, { ociLayout?: { dir?: string }; layers?: { digest: string; createdBy?: string }[] }>;
  }
  const { images = {} } = JSON.parse(readFileSync(catalog, 'utf8')) as Catalog;
  for (const image of Object.values(images)) {
    const base = image.layers?.find((l) => l.createdBy?.startsWith('debootstrap'));
    if (!base || !image.ociLayout?.dir) continue;
    const blob = join(image.ociLayout.dir, 'blobs', ...base.digest.split(':'));
    if (existsSync(blob)) return blob;
  }
  return undefined;
}

function standIn(): string {
  const path = join(STANDIN_DIR, 'usr-standin.tar.gz');
  if (existsSync(path)) return path;
  mkdirSync(STANDIN_DIR, { recursive: true });
  console.log(`no fixture layer yet: building a stand-in from this machine's /usr at ${path} (a minute or two)…`);
  const dirs = ['usr/bin', 'usr/lib/python3', 'usr/share/doc', 'var/lib/dpkg'].filter((d) => existsSync(`/${d}`));
  execFileSync('sh', ['-c', `tar -C / -cf - ${dirs.join(' ')} 2>/dev/null | gzip -6 > "${path}.tmp" && mv "${path}.tmp" "${path}"`]);
  return path;
}

function zstdCopy(gz: string): string | undefined {
  const path = join(
    STANDIN_DIR,
    `${gz
      .split('/')
      .pop()!
      .replace(/\.(tar\.gz|tgz)$/, '')
      .slice(0, 24)}.tar.zst`,
  );
  if (existsSync(path) && statSync(path).mtimeMs >= statSync(gz).mtimeMs) return path;
  mkdirSync(STANDIN_DIR, { recursive: true });
  const r = spawnSync('sh', ['-c', `gzip -dc "${gz}" | zstd -q -3 -T0 -o "${path}" -f`]);
  return r.status === 0 ? path : undefined;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1]!, args[2]!);
  const flag = (name: string): boolean => args.includes(name);
  const roundsAt = args.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 3;
  const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--rounds' && args[i - 1] !== '--zstd');
  const layer = positional[0] ?? process.env.STRATA_BENCH_LAYER ?? findFixture() ?? standIn();
  const compressed = statSync(layer).size;
  const uncompressed = Number(
    execFileSync('sh', ['-c', `gzip -dc "${layer}" | wc -c`])
      .toString()
      .trim(),
  );
  const load = execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 3).join(' ');
  console.log(
    `layer ${layer}: ${(compressed / 1e6).toFixed(1)} MB gzip, ${(uncompressed / 1e6).toFixed(1)} MB tar; node ${process.version}; load ${load}; ${rounds} rounds`,
  );

  const zstdAt = args.indexOf('--zstd');
  const zst = flag('--no-zstd') ? undefined : zstdAt >= 0 ? args[zstdAt + 1] : zstdCopy(layer);
  const results = new Map<string, Measurement[]>();
  const add = (m: Measurement): void => void results.set(m.variant, [...(results.get(m.variant) ?? []), m]);
  for (let round = 1; round <= rounds; round++) {
    // interleaved, so a burst of load from elsewhere hits every variant alike
    add(runChild('node-zlib+tar-stream', layer));
    add(runChild('strata', layer));
    add(runCli('gzip -dc | tar -t', `gzip -dc "${layer}" | tar -tf - > /dev/null`, uncompressed));
    if (zst) {
      add(runChild('strata-zstd', zst));
      add(runCli('zstd -dc | tar -t', `zstd -dc "${zst}" | tar -tf - > /dev/null`, uncompressed));
    }
    if (!flag('--no-10x')) {
      add(runChild('node-zlib+tar-stream-10x', layer));
      add(runChild('strata-10x', layer));
    }
    process.stdout.write(`round ${round}/${rounds} done\n`);
  }
  add(runChild('idle (node+tsx+modules)', layer));

  const row = (name: string): { wall: number; cpu: number; best: number; rss: number; note: string } | undefined => {
    const ms = results.get(name);
    if (!ms) return undefined;
    const wall = ms.map((m) => m.uncompressedBytes / 1e6 / Math.max(m.wallSeconds, 1e-9));
    return {
      wall: median(wall),
      best: Math.max(...wall),
      cpu: median(ms.map((m) => m.uncompressedBytes / 1e6 / Math.max(m.cpuSeconds, 1e-9))),
      rss: Math.max(...ms.map((m) => m.maxRssMiB)),
      note: ms[0]?.note ?? '',
    };
  };
  console.log('\nMB/s of uncompressed tar: median wall clock, best wall clock, median by CPU time (user+sys)');
  console.log('variant                     wall   best    CPU  peak RSS MiB  notes');
  for (const name of results.keys()) {
    const r = row(name)!;
    const f = (n: number): string => n.toFixed(1).padStart(6);
    console.log(`${name.padEnd(26)} ${f(r.wall)} ${f(r.best)} ${f(r.cpu)} ${r.rss.toFixed(0).padStart(13)}  ${r.note}`);
  }
  const strata = row('strata')!;
  const base = row('node-zlib+tar-stream')!;
  const cli = row('gzip -dc | tar -t')!;
  console.log(
    `\nstrata / node zlib+tar-stream: ${(strata.wall / base.wall).toFixed(2)}× wall, ${(strata.best / base.best).toFixed(2)}× best, ${(strata.cpu / base.cpu).toFixed(2)}× CPU (target ≥ 0.8×)`,
  );
  const strata10 = row('strata-10x');
  const base10 = row('node-zlib+tar-stream-10x');
  if (strata10 && base10) {
    console.log(`  on the 10× stream (steady state): ${(strata10.wall / base10.wall).toFixed(2)}× wall, ${(strata10.cpu / base10.cpu).toFixed(2)}× CPU`);
  }
  console.log(`strata / gzip -dc | tar -t:    ${(strata.wall / cli.wall).toFixed(2)}× wall, ${(strata.cpu / cli.cpu).toFixed(2)}× CPU`);
  console.log(`strata peak RSS: ${strata.rss.toFixed(0)} MiB (target < 150 MiB)`);
  if (strata10) console.log(`strata peak RSS on the 10× stream: ${strata10.rss.toFixed(0)} MiB (1×: ${strata.rss.toFixed(0)} MiB)`);
  const zstd = row('strata-zstd');
  const zcli = row('zstd -dc | tar -t');
  if (zstd && zcli)
    console.log(`strata zstd (node:zlib) / zstd -dc | tar -t: ${(zstd.wall / zcli.wall).toFixed(2)}× wall, ${(zstd.cpu / zcli.cpu).toFixed(2)}× CPU`);
}

await main();
