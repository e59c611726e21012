// Go comparator: toolchain versions against the Go toolchain's own go/version package, module
// versions against SemVer precedence (npm semver), and the real Go vulnerability database.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import semverLib from 'semver';
import { runGoProgram, sharedDataDir, skipUnless } from '@strata/testing';
import { comparator } from './index.js';
import { disagreements, opOf, pick, prng } from './testing/index.js';

const rand = prng(0x5eed_0600);
const go = comparator('go');

/** A real Go release tag: go1.N (N < 21) and go1.N.P (P ≥ 1, or ≥ 0 from 1.21), go1.NrcK, go1.NbetaK. */
function toolchainTag(): string {
  const minor = Math.floor(rand() * 30);
  const r = rand();
  if (r < 0.25) return `go1.${minor}${pick(rand, ['rc', 'beta'])}${1 + Math.floor(rand() * 3)}`;
  if (r < 0.4 && minor < 21) return `go1.${minor}`;
  const patch = Math.floor(rand() * 12) + (minor < 21 ? 1 : 0);
  return `go1.${minor}.${patch}`;
}

/** How the same version may reach us: as the tag, without "go", or with a GOEXPERIMENT suffix. */
function spelling(tag: string): string {
  const r = rand();
  if (r < 0.2) return tag.slice(2);
  if (r < 0.3) return `${tag} X:nocoverageredesign`;
  return tag;
}

function goVersionOracle(list: ReadonlyArray<readonly [string, string]>): string[] {
  const input = list.map(([a, b]) => `${a}\t${b}\n`).join('');
  return runGoProgram(
    `package main

import (
	"bufio"
	"fmt"
	"go/version"
	"os"
	"strings"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		ab := strings.Split(in.Text(), "\\t")
		switch c := version.Compare(ab[0], ab[1]); {
		case c < 0:
			fmt.Println("<")
		case c > 0:
			fmt.Println(">")
		default:
			fmt.Println("=")
		}
	}
}
`,
    { input },
  )
    .trim()
    .split('\n');
}

// go/version reads "go1.20" as the language version, below "go1.20rc1"; but before Go 1.21 that tag
// was the release itself, and the Go vulnerability database maps it to 1.20.0, as we do. Pairs of
// such a tag and a pre-release of the same minor version are therefore left out.
const languageVersusPrerelease = (a: string, b: string): boolean =>
  [a, b].some((x) => /^go1\.\d+$/.test(x) && [a, b].some((y) => y.startsWith(`${x}rc`) || y.startsWith(`${x}beta`)));

test('go: toolchain versions order like go/version', { skip: skipUnless('tool:go') }, (t) => {
  const tags: Array<[string, string]> = [];
  while (tags.length < 400) {
    const a = toolchainTag();
    const b = rand() < 0.3 ? a : toolchainTag();
    if (!languageVersusPrerelease(a, b)) tags.push([a, b]);
  }
  tags.push(['go1.21rc1', 'go1.21.0'], ['go1.9beta2', 'go1.9rc1'], ['go1.20rc3', 'go1.20.1'], ['go1.20', 'go1.20.1']);
  const oracle = goVersionOracle(tags);
  const spelled = tags.map(([a, b]): [string, string] => [spelling(a), spelling(b)]);
  assert.deepEqual(disagreements(go, spelled, oracle), []);
  t.diagnostic(`${tags.length} toolchain pairs agree with go/version of ${execFileSync('go', ['env', 'GOVERSION']).toString().trim()}`);
});

test('go: module versions follow SemVer precedence with or without "v"', (t) => {
  const ids = ['0', '1', '2', '10', 'alpha', 'beta', 'rc', '20210101000000', 'abcdef123456', '0-20210101'];
  const core = (): string => [0, 1, 2].map(() => pick(rand, ['0', '1', '2', '10'])).join('.');
  const version = (): string => {
    let v = core();
    if (rand() < 0.5) v += `-${Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(rand, ids)).join('.')}`;
    if (rand() < 0.2) v += pick(rand, ['+incompatible', '+build.1']);
    return v;
  };
  let n = 0;
  for (let i = 0; i < 500; i++) {
    const a = version();
    const b = rand() < 0.3 ? a.replace(/\+.*$/, '') : version();
    const expected = opOf(semverLib.compare(a, b));
    const va = rand() < 0.5 ? `v${a}` : a;
    const vb = rand() < 0.5 ? `v${b}` : b;
    assert.equal(opOf(go.compare(va, vb)), expected, `${va} vs ${vb}`);
    n++;
  }
  t.diagnostic(`${n} module version pairs agree with SemVer precedence`);
});

test('go: every version in the Go vulnerability database parses, and ranges ascend', { skip: skipUnless('data') }, (t) => {
  const dir = join(sharedDataDir()!, 'osv', 'go');
  let versions = 0;
  let ranges = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const record = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      affected?: Array<{ ranges?: Array<{ type: string; events: Array<Record<string, string>> }> }>;
    };
    for (const affected of record.affected ?? []) {
      for (const range of affected.ranges ?? []) {
        if (range.type !== 'SEMVER') continue;
        const points = range.events.flatMap((e) => Object.values(e));
        for (const v of points) assert.ok(go.isValid(v), `${file}: ${v}`);
        versions += points.length;
        // Events are listed in ascending order. introduced "0" is OSV's "from the very start", not
        // the version 0.0.0 (pseudo-versions v0.0.0-… sort below 0.0.0): the matcher handles it.
        if (range.events[0]?.introduced === '0') points.shift();
        for (let i = 1; i < points.length; i++) {
          assert.ok(go.compare(points[i - 1]!, points[i]!) < 0, `${file}: ${points[i - 1]} before ${points[i]}`);
        }
        ranges++;
      }
    }
  }
  assert.ok(ranges > 4000, `only ${ranges} SEMVER ranges found in ${dir}`);
  t.diagnostic(`${ranges} SEMVER ranges, ${versions} versions`);
});
