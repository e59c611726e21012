import assert from 'node:assert/strict';
import test from 'node:test';
import { eachLine, infra, skipUnless, uniqueName } from './index.js';

test('skipUnless reports a missing tool, or throws when the run requires infra', () => {
  const saved = process.env.STRATA_REQUIRE_INFRA;
  try {
    delete process.env.STRATA_REQUIRE_INFRA;
    assert.match(String(skipUnless('tool:strata-no-such-binary')), /not installed/);
    assert.equal(skipUnless('tool:sh'), false);
    assert.equal(skipUnless('python:json'), false);
    assert.match(String(skipUnless('python:strata_no_such_module')), /python module strata_no_such_module not installed/);
    process.env.STRATA_REQUIRE_INFRA = '1';
    assert.throws(() => skipUnless('tool:strata-no-such-binary'), /required for this test run/);
  } finally {
    if (saved === undefined) delete process.env.STRATA_REQUIRE_INFRA;
    else process.env.STRATA_REQUIRE_INFRA = saved;
  }
});

test('infra.s3 parses the endpoint URL', () => {
  const saved = process.env.STRATA_TEST_S3;
  try {
    process.env.STRATA_TEST_S3 = 'http://127.0.0.1:19000';
    assert.deepEqual(
      { ...infra.s3(), accessKey: undefined, secretKey: undefined },
      { endPoint: '127.0.0.1', port: 19000, useSSL: false, accessKey: undefined, secretKey: undefined },
    );
  } finally {
    if (saved === undefined) delete process.env.STRATA_TEST_S3;
    else process.env.STRATA_TEST_S3 = saved;
  }
});

test('uniqueName differs between calls', () => {
  assert.notEqual(uniqueName('t'), uniqueName('t'));
});

test('the trivy requirement: skipped with the way to build it, or thrown when the run requires infra', () => {
  const saved = { bin: process.env.STRATA_TEST_TRIVY, db: process.env.STRATA_TEST_TRIVY_JAVA_DB, req: process.env.STRATA_REQUIRE_INFRA };
  const restore = (name: string, value: string | undefined) => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  try {
    delete process.env.STRATA_REQUIRE_INFRA;
    process.env.STRATA_TEST_TRIVY = '/nonexistent/trivy';
    process.env.STRATA_TEST_TRIVY_JAVA_DB = '/nonexistent/java-db';
    assert.equal(infra.trivy(), undefined);
    assert.match(String(skipUnless('trivy')), /Trivy not built .*infra\/local\/trivy\.sh/);
    process.env.STRATA_REQUIRE_INFRA = '1';
    assert.throws(() => skipUnless('trivy'), /required for this test run but missing: Trivy not built/);
  } finally {
    restore('STRATA_TEST_TRIVY', saved.bin);
    restore('STRATA_TEST_TRIVY_JAVA_DB', saved.db);
    restore('STRATA_REQUIRE_INFRA', saved.req);
  }
});

test('eachLine: whole lines only, across chunk borders and split UTF-8 characters', async () => {
  const { PassThrough } = await import('node:stream');
  const stream = new PassThrough();
  const lines: string[] = [];
  eachLine(stream, (line) => lines.push(line));
  const bytes = Buffer.from('first\nsé', 'utf8');
  stream.write(bytes.subarray(0, bytes.length - 1));
  stream.write(bytes.subarray(bytes.length - 1));
  stream.write('cond\nthird\nunfinished');
  stream.end();
  await new Promise((resolve) => stream.on('end', resolve));
  assert.deepEqual(lines, ['first', 'sécond', 'third']);
});
