// Archives without pom.properties, named from MANIFEST.MF and the file name. The manifests are the
// ones Maven Central's jars carry (spring-core 5.3.17, snakeyaml 1.26, jackson-databind), copied
// into archives built here with Python's zipfile.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyzeEntries, tempDir } from '../testing/index.js';
import { coordinatesFromManifest, parseManifest } from './jar.js';

function zipWith(files: Record<string, string>): Buffer {
  const t = tempDir('manifest-jar');
  try {
    const out = join(t.dir, 'a.jar');
    const script = 'import sys, json, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n    for k, v in json.loads(sys.argv[2]).items(): z.writestr(k, v)';
    execFileSync('python3', ['-c', script, out, JSON.stringify(files)]);
    return readFileSync(out);
  } finally {
    t.cleanup();
  }
}

const SPRING_CORE =
  'Manifest-Version: 1.0\r\nImplementation-Title: spring-core\r\nAutomatic-Module-Name: spring.core\r\nImplementation-Version: 5.3.17\r\nCreated-By: 1.8.0_322 (Oracle Corporation)\r\nDependencies: jdk.unsupported\r\n\r\n';
const SNAKEYAML =
  'Manifest-Version: 1.0\r\nAutomatic-Module-Name: org.yaml.snakeyaml\r\nBundle-Name: SnakeYAML\r\nBundle-SymbolicName: org.yaml.snakeyaml\r\nBundle-Version: 1.26.0\r\n\r\n';
const JACKSON =
  'Manifest-Version: 1.0\r\nBundle-SymbolicName: com.fasterxml.jackson.core.jackson-databind\r\nImplementation-Title: jackson-databind\r\nImplementation-Version: 2.9.10.1\r\nImplementation-Vendor-Id: com.fasterxml.jackson.core\r\n\r\n';

test('manifest naming: the group from Implementation-Vendor-Id or a symbolic name ending in the artifact; otherwise unknown, said in a note', () => {
  assert.deepEqual(coordinatesFromManifest(parseManifest(SPRING_CORE), 'spring-core-5.3.17.jar'), {
    artifactId: 'spring-core',
    version: '5.3.17',
    sources: { artifactId: 'Implementation-Title', version: 'Implementation-Version' },
  });
  assert.equal(coordinatesFromManifest(parseManifest(SNAKEYAML), 'snakeyaml-1.26.jar')?.groupId, 'org.yaml');
  assert.equal(coordinatesFromManifest(parseManifest(JACKSON))?.groupId, 'com.fasterxml.jackson.core');
  assert.equal(
    coordinatesFromManifest(parseManifest('Automatic-Module-Name: org.apache.commons.lang3\n'), 'commons-lang3-3.12.0.jar')?.groupId,
    undefined,
    'lang3 is not commons-lang3',
  );
  assert.equal(coordinatesFromManifest(new Map(), 'nothing.jar'), undefined);
});

test('manifest naming: spring-core without pom.properties is listed with a note, not as a Maven package; named ones carry where their coordinates came from', async () => {
  const r = await analyzeEntries([
    { name: 'opt/java/lib/spring-core-5.3.17.jar', content: zipWith({ 'META-INF/MANIFEST.MF': SPRING_CORE, 'org/springframework/core/X.class': 'x' }) },
    { name: 'opt/java/lib/snakeyaml-1.26.jar', content: zipWith({ 'META-INF/MANIFEST.MF': SNAKEYAML }) },
    { name: 'opt/java/lib/plain-tool-4.0.1.war', content: zipWith({ 'index.html': '<html/>' }) },
  ]);
  assert.deepEqual(r.warnings, []);
  const pkgs = r.applications.flatMap((s) => s.packages);
  const spring = pkgs.find((p) => p.name === 'spring-core');
  assert.equal(spring?.version, '5.3.17');
  assert.equal(spring?.purl, 'pkg:generic/spring-core@5.3.17');
  assert.match(spring?.notes?.[0] ?? '', /^groupId unknown: no pom\.properties/);
  const yaml = pkgs.find((p) => p.name === 'org.yaml:snakeyaml');
  assert.equal(yaml?.purl, 'pkg:maven/org.yaml/snakeyaml@1.26.0');
  assert.match(yaml?.notes?.[0] ?? '', /groupId from Bundle-SymbolicName/);
  const war = pkgs.find((p) => p.name === 'plain-tool');
  assert.equal(war?.version, '4.0.1', 'the file name names an archive without a manifest');
});
