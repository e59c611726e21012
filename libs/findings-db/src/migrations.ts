// The schema, as versioned migrations applied in order at start (migrate.ts). A migration is never
// edited once released: its checksum is recorded, and a database holding a different text for a
// version refuses to start. Add a new version instead.
//
// Everything lives in the schema `strata`. Tables are the system of record; the views
// `strata.images`, `strata.findings_current` and `strata.findings_history` are the documented
// interface for other systems (docs/findings-db.md): their columns only ever grow.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const initial = `
create schema if not exists strata;

-- Inventories, deduplicated by digest: images that share an inventory share its rows.
create table strata.inventories (
  inventory_digest text primary key,
  os_family text not null default '',
  os_name text not null default '',
  package_count integer not null,
  created_at timestamptz not null default now()
);

-- A package as many inventories hold it (name, versions, OS; not where): matched once per re-match.
create table strata.packages (
  package_id bigint generated always as identity primary key,
  unit_key text not null unique,
  ecosystem text not null,
  name text not null,
  installed_version text not null,
  package jsonb not null,
  os jsonb
);

-- Where the advisory index files a package: (ecosystem key, name) -> packages.
create table strata.package_lookups (
  ecosystem text not null,
  name text not null,
  package_id bigint not null references strata.packages,
  primary key (ecosystem, name, package_id)
);
create index package_lookups_package on strata.package_lookups (package_id);

-- The postings: which inventory holds which package, at which path, from which layer.
create table strata.inventory_packages (
  inventory_digest text not null references strata.inventories on delete cascade,
  package_id bigint not null references strata.packages,
  path text not null,
  layer_digest text not null,
  layer_diff_id text not null,
  layer_created_by text not null default '',
  primary key (inventory_digest, package_id, path, layer_diff_id)
);
create index inventory_packages_package on strata.inventory_packages (package_id);

-- Images: one row per platform manifest, with its inventory and the state of its findings.
create table strata.image_manifests (
  manifest_digest text primary key,
  image_ref text not null,
  repository text not null,
  index_digest text,
  os text not null default '',
  architecture text not null default '',
  variant text not null default '',
  inventory_digest text references strata.inventories,
  inventory_key text not null default '',
  advisory_db_version text,
  first_seen_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index image_manifests_inventory on strata.image_manifests (inventory_digest);
create index image_manifests_repository on strata.image_manifests (repository);
create index image_manifests_index on strata.image_manifests (index_digest) where index_digest is not null;

-- Every reference an image was scanned by (a manifest may have many; a tag moves between manifests).
create table strata.image_refs (
  image_ref text not null,
  manifest_digest text not null references strata.image_manifests on delete cascade,
  repository text not null,
  last_seen_at timestamptz not null default now(),
  primary key (image_ref, manifest_digest)
);
create index image_refs_manifest on strata.image_refs (manifest_digest);

-- The findings state: one row per (image, package, vulnerability) at the image's advisory_db_version.
create table strata.image_findings (
  manifest_digest text not null references strata.image_manifests on delete cascade,
  ecosystem text not null,
  package_name text not null,
  installed_version text not null,
  vulnerability_id text not null,
  fixed_version text not null default '',
  severity text not null check (severity in ('UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
  primary key (manifest_digest, ecosystem, package_name, installed_version, vulnerability_id)
);
create index image_findings_vulnerability on strata.image_findings (vulnerability_id);

-- History: every change of an image's findings state (counts after it) and what it added or resolved.
create table strata.findings_changes (
  change_id bigint generated always as identity primary key,
  manifest_digest text not null references strata.image_manifests on delete cascade,
  kind text not null check (kind in ('FULL', 'DELTA')),
  advisory_db_version text not null,
  previous_advisory_db_version text,
  recorded_at timestamptz not null default now(),
  critical integer not null,
  high integer not null,
  medium integer not null,
  low integer not null,
  unknown integer not null
);
create index findings_changes_image on strata.findings_changes (manifest_digest, recorded_at);
create index findings_changes_time on strata.findings_changes (recorded_at);

create table strata.findings_change_items (
  change_id bigint not null references strata.findings_changes on delete cascade,
  change text not null check (change in ('added', 'resolved')),
  ecosystem text not null,
  package_name text not null,
  installed_version text not null,
  vulnerability_id text not null,
  fixed_version text not null,
  severity text not null
);
create index findings_change_items_change on strata.findings_change_items (change_id);
create index findings_change_items_vulnerability on strata.findings_change_items (vulnerability_id);

-- Scan records (scans/<id>.json in the blob store), kept moving forward only: by status rank, then
-- by stage rank within a status; a terminal status is never overwritten.
create table strata.scans (
  scan_id text primary key,
  image_ref text not null,
  status text not null check (status in ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED')),
  stage text,
  status_rank smallint not null,
  stage_rank smallint not null,
  manifest_digest text,
  advisory_db_version text,
  error_code text,
  error_reason text,
  record jsonb not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index scans_manifest on strata.scans (manifest_digest) where manifest_digest is not null;
create index scans_updated on strata.scans (updated_at);

-- The documented views (docs/findings-db.md).
create view strata.images as
select
  m.manifest_digest,
  m.image_ref,
  m.repository,
  m.index_digest,
  m.os,
  m.architecture,
  m.variant,
  m.inventory_digest,
  coalesce(i.package_count, 0) as packages,
  m.advisory_db_version,
  coalesce(c.critical, 0) as critical,
  coalesce(c.high, 0) as high,
  coalesce(c.medium, 0) as medium,
  coalesce(c.low, 0) as low,
  coalesce(c.unknown, 0) as unknown,
  coalesce(c.total, 0) as findings,
  m.first_seen_at,
  m.updated_at
from strata.image_manifests m
left join strata.inventories i on i.inventory_digest = m.inventory_digest
left join (
  select
    manifest_digest,
    count(*) filter (where severity = 'CRITICAL')::integer as critical,
    count(*) filter (where severity = 'HIGH')::integer as high,
    count(*) filter (where severity = 'MEDIUM')::integer as medium,
    count(*) filter (where severity = 'LOW')::integer as low,
    count(*) filter (where severity = 'UNKNOWN')::integer as unknown,
    count(*)::integer as total
  from strata.image_findings
  group by manifest_digest
) c on c.manifest_digest = m.manifest_digest;

create view strata.findings_current as
select
  f.manifest_digest,
  m.image_ref,
  m.repository,
  m.index_digest,
  m.os,
  m.architecture,
  m.variant,
  f.vulnerability_id,
  f.ecosystem,
  f.package_name,
  f.installed_version,
  f.fixed_version,
  f.severity,
  m.advisory_db_version,
  m.updated_at
from strata.image_findings f
join strata.image_manifests m on m.manifest_digest = f.manifest_digest;

create view strata.findings_history as
select
  c.change_id,
  c.manifest_digest,
  m.image_ref,
  m.repository,
  c.kind,
  c.advisory_db_version,
  c.previous_advisory_db_version,
  c.recorded_at,
  i.change,
  i.vulnerability_id,
  i.ecosystem,
  i.package_name,
  i.installed_version,
  i.fixed_version,
  i.severity
from strata.findings_changes c
join strata.findings_change_items i on i.change_id = c.change_id
join strata.image_manifests m on m.manifest_digest = c.manifest_digest;
`;

// Postings in chunks: the packages an inventory holds from one layer are one chunk, stored once
// and shared by every inventory holding the same packages from the same layer (images on one base
// share its chunk), with layers and paths interned. strata.inventory_packages becomes a view with
// the columns the table had.
const chunkedPostings = `
create table strata.layers (
  layer_id bigint generated always as identity primary key,
  digest text not null,
  diff_id text not null,
  created_by text not null default '',
  unique (digest, diff_id, created_by)
);

create table strata.paths (
  path_id bigint generated always as identity primary key,
  path text not null unique
);

create table strata.chunks (
  chunk_id bigint generated always as identity primary key,
  chunk_digest text not null unique,
  layer_id bigint not null references strata.layers,
  package_count integer not null
);

create table strata.chunk_packages (
  chunk_id bigint not null references strata.chunks on delete cascade,
  package_id bigint not null references strata.packages,
  path_id bigint not null references strata.paths,
  primary key (chunk_id, package_id, path_id)
);
create index chunk_packages_package on strata.chunk_packages (package_id);

create table strata.inventory_chunks (
  inventory_digest text not null references strata.inventories on delete cascade,
  chunk_id bigint not null references strata.chunks,
  primary key (inventory_digest, chunk_id)
);
create index inventory_chunks_chunk on strata.inventory_chunks (chunk_id);

-- the rows of version 1, one chunk per (inventory, layer)
insert into strata.layers (digest, diff_id, created_by)
select distinct layer_digest, layer_diff_id, layer_created_by from strata.inventory_packages;
insert into strata.paths (path) select distinct path from strata.inventory_packages;
insert into strata.chunks (chunk_digest, layer_id, package_count)
select 'v1:' || ip.inventory_digest || ':' || l.layer_id, l.layer_id, count(*)
from strata.inventory_packages ip
join strata.layers l on l.digest = ip.layer_digest and l.diff_id = ip.layer_diff_id and l.created_by = ip.layer_created_by
group by ip.inventory_digest, l.layer_id;
insert into strata.chunk_packages (chunk_id, package_id, path_id)
select c.chunk_id, ip.package_id, pa.path_id
from strata.inventory_packages ip
join strata.layers l on l.digest = ip.layer_digest and l.diff_id = ip.layer_diff_id and l.created_by = ip.layer_created_by
join strata.chunks c on c.chunk_digest = 'v1:' || ip.inventory_digest || ':' || l.layer_id
join strata.paths pa on pa.path = ip.path
on conflict do nothing;
insert into strata.inventory_chunks (inventory_digest, chunk_id)
select distinct ip.inventory_digest, c.chunk_id
from strata.inventory_packages ip
join strata.layers l on l.digest = ip.layer_digest and l.diff_id = ip.layer_diff_id and l.created_by = ip.layer_created_by
join strata.chunks c on c.chunk_digest = 'v1:' || ip.inventory_digest || ':' || l.layer_id;
drop table strata.inventory_packages;

create view strata.inventory_packages as
select ic.inventory_digest, cp.package_id, pa.path, l.digest as layer_digest, l.diff_id as layer_diff_id, l.created_by as layer_created_by
from strata.inventory_chunks ic
join strata.chunks c on c.chunk_id = ic.chunk_id
join strata.layers l on l.layer_id = c.layer_id
join strata.chunk_packages cp on cp.chunk_id = ic.chunk_id
join strata.paths pa on pa.path_id = cp.path_id;
`;

// Summaries the console reads (docs/console.md), kept by statement-level triggers so no writer
// changes and no page aggregates every finding: per image, its findings by severity (all, and those
// with a fixed version); per findings change, what it added minus what it resolved (the trend adds
// these up). Both are written per image or per change only (never a shared counter row), so
// concurrent writers of different images never wait on each other.
const SEVERITY_COLUMNS: readonly (readonly [string, string])[] = [
  ['critical', 'CRITICAL'],
  ['high', 'HIGH'],
  ['medium', 'MEDIUM'],
  ['low', 'LOW'],
  ['unknown', 'UNKNOWN'],
];
const countColumns = [...SEVERITY_COLUMNS.map(([c]) => c), ...SEVERITY_COLUMNS.map(([c]) => `fixable_${c}`)];
/** The ten sums (by severity, then by severity with a fixed version) of `value` over the rows of f. */
const severitySums = (value: string): string =>
  [
    ...SEVERITY_COLUMNS.map(([c, s]) => `coalesce(sum(${value}) filter (where f.severity = '${s}'), 0)::integer as ${c}`),
    ...SEVERITY_COLUMNS.map(([c, s]) => `coalesce(sum(${value}) filter (where f.severity = '${s}' and f.fixed_version <> ''), 0)::integer as fixable_${c}`),
  ].join(',\n      ');
/** Adds (sign 1) or takes away (-1) the findings rows of `source` from their images' counts. */
const applyCounts = (source: string, sign: 1 | -1): string => `
  update strata.image_counts c set ${countColumns.map((c) => `${c} = c.${c} + (${sign}) * d.${c}`).join(', ')}
  from (select f.manifest_digest, ${severitySums('1')} from ${source} f group by f.manifest_digest) d
  where c.manifest_digest = d.manifest_digest;`;
/** Files the net findings (added − resolved) of the findings_change_items rows of `source`, per change. */
const netOfItems = (source: string): string => `
  insert into strata.findings_change_net (change_id, manifest_digest, recorded_at, ${countColumns.join(', ')})
  select c.change_id, c.manifest_digest, c.recorded_at, ${countColumns.map((x) => `sum(d.${x})`).join(', ')}
  from (select f.change_id, ${severitySums("case when f.change = 'added' then 1 else -1 end")} from ${source} f group by f.change_id) d
  join strata.findings_changes c on c.change_id = d.change_id
  group by c.change_id, c.manifest_digest, c.recorded_at
  on conflict (change_id) do update set ${countColumns.map((x) => `${x} = strata.findings_change_net.${x} + excluded.${x}`).join(', ')};`;
const trigger = (name: string, table: string, event: string, referencing: string, body: string): string => `
create function strata.${name}() returns trigger language plpgsql as $fn$
begin
${body}
  return null;
end
$fn$;
create trigger ${name} after ${event} on strata.${table} referencing ${referencing} for each statement execute function strata.${name}();`;

const consoleSummaries = `
create table strata.image_counts (
  manifest_digest text primary key references strata.image_manifests on delete cascade,
  ${countColumns.map((c) => `${c} integer not null default 0`).join(',\n  ')}
);
create index image_manifests_listing on strata.image_manifests (repository, image_ref, manifest_digest);
create index image_counts_risk on strata.image_counts (critical desc, high desc, medium desc, low desc, unknown desc, manifest_digest desc);
${trigger('image_findings_counts_insert', 'image_findings', 'insert', 'new table as added', applyCounts('added', 1))}
${trigger('image_findings_counts_delete', 'image_findings', 'delete', 'old table as removed', applyCounts('removed', -1))}
${trigger('image_findings_counts_update', 'image_findings', 'update', 'old table as removed new table as added', applyCounts('removed', -1) + applyCounts('added', 1))}
-- every image has its row (zeros until findings arrive)
${trigger('image_manifests_counts_insert', 'image_manifests', 'insert', 'new table as added', '  insert into strata.image_counts (manifest_digest) select manifest_digest from added order by 1 on conflict do nothing;')}
insert into strata.image_counts (manifest_digest) select manifest_digest from strata.image_manifests;
${applyCounts('strata.image_findings', 1)}

create table strata.findings_change_net (
  change_id bigint primary key references strata.findings_changes on delete cascade,
  manifest_digest text not null,
  recorded_at timestamptz not null,
  ${countColumns.map((c) => `${c} integer not null`).join(',\n  ')}
);
create index findings_change_net_time on strata.findings_change_net (recorded_at);
${trigger('findings_change_items_net_insert', 'findings_change_items', 'insert', 'new table as added', netOfItems('added'))}
${netOfItems('strata.findings_change_items')}
`;

// Re-match work, partitioned across matcher replicas: an advisory update is planned once (the
// affected images, in batches), and every replica claims batches (FOR UPDATE SKIP LOCKED) under a
// lease. A batch's new states and its DELTA events are committed together; the events are sent
// after the commit and the batch is marked done after the send (docs/findings-db.md).
const rematchWork = `
create table strata.rematch_updates (
  update_id bigint generated always as identity primary key,
  advisory_db_version text not null,
  previous_version text not null,
  match_version text not null,
  pairs jsonb not null,
  images integer not null default 0,
  batches integer not null default 0,
  planned_at timestamptz not null default now(),
  done_at timestamptz,
  unique (advisory_db_version, previous_version)
);

create table strata.rematch_batches (
  update_id bigint not null references strata.rematch_updates on delete cascade,
  batch_no integer not null,
  manifest_digests text[] not null,
  status text not null default 'pending' check (status in ('pending', 'publishing', 'done')),
  lease_owner text,
  lease_until timestamptz not null default '-infinity',
  attempts integer not null default 0,
  event_keys text[],
  event_values bytea[],
  deltas integer,
  done_by text,
  done_at timestamptz,
  primary key (update_id, batch_no)
);
create index rematch_batches_open on strata.rematch_batches (update_id, batch_no) where status <> 'done';
`;

// Issue 17, the rest of the state: scan records written by every stage (a revision to write
// conditionally on), blob housekeeping (which image references which layer blob and layer result,
// and when it was last referenced) and the watcher's push dedup keys.
const housekeeping = `
alter table strata.scans add column revision bigint not null default 0;
create index scans_open on strata.scans (manifest_digest) where status in ('QUEUED', 'RUNNING');

-- A layer blob or layer result in the blob store, and the last time a scan relied on it.
create table strata.blob_refs (
  blob_key text primary key,
  kind text not null check (kind in ('blob', 'layer-result')),
  last_referenced_at timestamptz not null
);
create index blob_refs_last on strata.blob_refs (last_referenced_at);

-- Which image (platform manifest) references which blob-store key.
create table strata.image_blobs (
  manifest_digest text not null,
  blob_key text not null,
  primary key (manifest_digest, blob_key)
);
create index image_blobs_key on strata.image_blobs (blob_key);

-- Push notifications already requested (event ids, repository@digest), for the dedup window.
create table strata.push_dedup (
  dedup_key text primary key,
  seen_at timestamptz not null
);
create index push_dedup_seen on strata.push_dedup (seen_at);
`;

// The postings a planned update touches (chunk, package, path), read once at the plan: a batch
// then reads its images' holdings from here instead of walking every posting of each changed
// package again (which at 100k images cost ~0.5 s per batch). Deleted when the update is done.
// And the index that lets a ListAffectedImages page walk a chunk's inventories in order.
const rematchPostings = `
create table strata.rematch_postings (
  update_id bigint not null references strata.rematch_updates on delete cascade,
  chunk_id bigint not null,
  package_id bigint not null,
  path_id bigint not null
);
create index rematch_postings_chunk on strata.rematch_postings (update_id, chunk_id);

-- ListAffectedImages pages: a chunk's inventories in order, so a page stops after its last image
create index inventory_chunks_chunk_inventory on strata.inventory_chunks (chunk_id, inventory_digest);
`;

export const migrations: readonly Migration[] = [
  { version: 1, name: 'initial schema', sql: initial },
  { version: 2, name: 'postings in shared per-layer chunks', sql: chunkedPostings },
  { version: 3, name: 'console summaries: per-image counts and per-change net findings', sql: consoleSummaries },
  { version: 4, name: 're-match work partitioned across matcher replicas', sql: rematchWork },
  { version: 5, name: 'scan revisions, blob references, push dedup', sql: housekeeping },
  { version: 6, name: 're-match postings of a planned update; inventories of a chunk in order', sql: rematchPostings },
];
