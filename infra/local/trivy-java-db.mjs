// Writes an empty Trivy Java DB: <dir>/trivy-java.db and <dir>/metadata.json.
// Trivy reads jars only with a Java DB present (it would download one, which the test machine cannot),
// and looks a jar up there by SHA-1 when the jar carries no pom.properties. An empty DB keeps Trivy
// offline and makes it name jars from their pom.properties only: the coverage oracle compares that
// with Strata, which also names the jars that have none. The tables follow the layout of the DB that
// trivy-java-db publishes (schema version 1): artifacts(group, artifact) and indices(version, sha1, type).
// Usage: node infra/local/trivy-java-db.mjs <dir>
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node infra/local/trivy-java-db.mjs <dir>');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const tmp = join(dir, 'trivy-java.db.tmp');
rmSync(tmp, { force: true });
const db = new DatabaseSync(tmp);
db.exec(`
  CREATE TABLE artifacts (id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT);
  CREATE TABLE indices (
    artifact_id INTEGER REFERENCES artifacts(id),
    version TEXT,
    sha1 BLOB,
    archive_type TEXT
  );
  CREATE UNIQUE INDEX artifacts_idx ON artifacts (artifact_id, group_id);
  CREATE INDEX indices_artifact_idx ON indices (artifact_id);
  CREATE UNIQUE INDEX indices_sha1_idx ON indices (sha1);
`);
db.close();
renameSync(tmp, join(dir, 'trivy-java.db'));
// NextUpdate far ahead: with --skip-java-db-update Trivy never asks for a newer one anyway.
const now = new Date().toISOString();
writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ Version: 1, NextUpdate: '2036-01-01T00:00:00.000Z', UpdatedAt: now, DownloadedAt: now }));
console.log(`empty Trivy Java DB written to ${dir}`);
