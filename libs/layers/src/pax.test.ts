// PAX records read as strictly as Go's archive/tar (what Docker and containerd unpack layers with)
// reads them. Go itself is the oracle: each crafted layer is listed by a small Go program and by
// the walk; where Go refuses the archive the walk refuses the layer (BAD_TAR), and where Go lists
// it the walk lists the same entries.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runGoProgram, skipUnless } from '@strata/testing';
import { LayerError } from './errors.js';
import { paxProblem } from './tar-guard.js';
import { padded, record, ustarHeader } from './testing/index.js';

const TAR = 'application/vnd.oci.image.layer.v1.tar';
const END = Buffer.alloc(1024);

/** One PAX record, "<len> key=value\n" with len counting itself (value may lie). */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}
const paxBlock = (body: string, typeflag = 'x'): Buffer =>
  Buffer.concat([ustarHeader('PaxHeaders/x', Buffer.byteLength(body), typeflag), padded(Buffer.from(body))]);
const file = (name: string, content: string): Buffer => Buffer.concat([ustarHeader(name, Buffer.byteLength(content)), padded(Buffer.from(content))]);

const STATUS = 'Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1\n';
const cases: Array<{ name: string; tar: Buffer }> = [
  { name: 'size=12abc (tar-stream reads 12)', tar: Buffer.concat([paxBlock(paxRecord('size', '12abc')), file('var/lib/dpkg/status', STATUS), END]) },
  { name: 'size= (empty)', tar: Buffer.concat([paxBlock(paxRecord('size', '')), file('var/lib/dpkg/status', STATUS), END]) },
  { name: 'size=0x10', tar: Buffer.concat([paxBlock(paxRecord('size', '0x10')), file('var/lib/dpkg/status', STATUS), END]) },
  {
    name: 'size=+70 (Go accepts a sign)',
    tar: Buffer.concat([paxBlock(paxRecord('size', `+${Buffer.byteLength(STATUS)}`)), file('var/lib/dpkg/status', STATUS), END]),
  },
  { name: 'uid=1e3', tar: Buffer.concat([paxBlock(paxRecord('uid', '1e3')), file('etc/hostname', 'x\n'), END]) },
  { name: 'mtime=12x', tar: Buffer.concat([paxBlock(paxRecord('mtime', '12x')), file('etc/hostname', 'x\n'), END]) },
  { name: 'mtime=1700000000.5', tar: Buffer.concat([paxBlock(paxRecord('mtime', '1700000000.5')), file('etc/hostname', 'x\n'), END]) },
  { name: 'record length past the header', tar: Buffer.concat([paxBlock('99 path=a\n'), file('etc/hostname', 'x\n'), END]) },
  { name: 'record without a newline', tar: Buffer.concat([paxBlock('12 path=abcd'), file('etc/hostname', 'x\n'), END]) },
  { name: 'record length "1x"', tar: Buffer.concat([paxBlock('1x path=abc\n'), file('etc/hostname', 'x\n'), END]) },
  { name: 'path with a NUL', tar: Buffer.concat([paxBlock(paxRecord('path', 'var/lib/dpkg/status\0x')), file('etc/hostname', 'x\n'), END]) },
  { name: 'a good path record', tar: Buffer.concat([paxBlock(paxRecord('path', 'var/lib/dpkg/status')), file('opt/other', STATUS), END]) },
  // a global header's records apply to no later entry in Go (tar-stream merged them into the next local PAX header)
  {
    name: 'global path= then a local PAX header',
    tar: Buffer.concat([paxBlock(paxRecord('path', 'opt/elsewhere'), 'g'), paxBlock(paxRecord('mtime', '1')), file('var/lib/dpkg/status', STATUS), END]),
  },
];

/** Go's archive/tar over each tar: the regular names it lists, or "ERR". */
function goList(tars: Buffer[]): string[] {
  return runGoProgram(
    `package main

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	for _, path := range os.Args[1:] {
		f, _ := os.Open(path)
		r := tar.NewReader(f)
		var names []string
		bad := false
		for {
			h, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				bad = true
				break
			}
			if h.Typeflag == tar.TypeReg {
				names = append(names, h.Name)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				bad = true
				break
			}
		}
		f.Close()
		if bad {
			fmt.Println("ERR")
		} else {
			fmt.Println(strings.Join(names, ","))
		}
	}
}
`,
    {
      args: (dir) =>
        tars.map((t, i) => {
          const p = join(dir, `${i}.tar`);
          writeFileSync(p, t);
          return p;
        }),
    },
  )
    .split('\n')
    .slice(0, tars.length);
}

test('PAX records: the walk refuses what Go archive/tar refuses and lists what it lists', { skip: skipUnless('tool:go') }, async (t) => {
  const go = goList(cases.map((c) => c.tar));
  let refused = 0;
  for (const [i, c] of cases.entries()) {
    let ours: string;
    try {
      const rec = await record(c.tar, { mediaType: TAR, label: 'layer 1/1' });
      ours = [...rec.files.keys()].join(',');
    } catch (err) {
      assert.ok(err instanceof LayerError && err.code === 'BAD_TAR', `${c.name}: ${String(err)}`);
      assert.match(err.message, /PAX( global)? header: .*Go’s archive\/tar refuses it/, c.name);
      ours = 'ERR';
      refused++;
    }
    assert.equal(ours, go[i], `${c.name}: Strata read ${ours}, Go ${go[i]}`);
  }
  t.diagnostic(`${cases.length} crafted PAX layers, ${refused} refused by both`);
  assert.ok(refused >= 8);
});

test('paxProblem names the record', () => {
  assert.match(paxProblem(Buffer.from(paxRecord('size', '12abc'))) ?? '', /size="12abc" is not a decimal number/);
  assert.equal(paxProblem(Buffer.from(paxRecord('size', '12') + paxRecord('path', 'a/b'))), undefined);
});
