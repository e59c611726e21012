// The web console in a real browser (Debian's chromium driven by playwright-core), against the real
// services: a watched registry's fixture images are scanned through every stage into PostgreSQL,
// the gateway runs as its own process with the console bundle built from the sources and a token.
// The test logs in, opens every page, and checks what each shows against the gateway's gRPC answers
// (GetReport per image, ListAffectedImages per vulnerability). It follows a finding from the
// vulnerability page to its image and layer, scans an image through the scan form while the stages
// complete, and sees the findings delta of an advisory update arrive on the open image page without
// a reload (a layer's created_by there is markup, which must show as text and never run). A page
// load that fails, an HTTP error, a failed request or anything the browser logs as an error fails
// the test. Screenshots of each page go to docs/console/; browser-side load times are printed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ReportFormat, ScanService, ScanStatus, connect, type Report } from '@strata/contracts';
import { describeError } from '@strata/errors';
import { loadServiceConfig } from '@strata/service-runtime';
import { startWatcher, watcherSettings } from '@strata/watcher-service';
import { infra, pushImage, repoRoot, skipUnless, skipUnlessImages, tarLayer, uniqueLayer, uniqueName } from '@strata/testing';
import { advisoryDb, createDeployment, waitUntil } from './testing/harness.js';
import { freePort } from './testing/private-infra.js';

// Page functions (the callbacks of evaluate, waitForFunction, evaluateAll) run in the browser; this
// project compiles without the DOM library, so the little of the DOM they use is declared here.
interface El {
  getAttribute(name: string): string | null;
  readonly textContent: string | null;
  readonly children: ArrayLike<El>;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
}
declare const document: { querySelector(selector: string): El | null };
declare const window: Record<string, unknown>;

const skip = skipUnless('kafka', 'minio', 'registry', 'postgres', 'tool:chromium') || skipUnlessImages();
const run = promisify(execFile);
const TOKEN = 'console-test-token-0123456789abcdef';
const PROBE = 'strata-console-probe';
const PROBE_ID = 'STRATA-CONSOLE-PROBE-0001';
const shots = join(repoRoot, 'docs/console');

/** Chromium's flags on a machine without a network beyond loopback (no background connections). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

interface TrivyJson {
  Results?: Array<{
    Target: string;
    Vulnerabilities?: Array<{ VulnerabilityID: string; PkgName: string; InstalledVersion: string; FixedVersion?: string; Severity: string }>;
  }>;
}

function probeRecord(): string {
  return JSON.stringify({
    schema_version: '1.6.0',
    id: PROBE_ID,
    modified: '2026-12-01T00:00:00Z',
    summary: `${PROBE} before 2.0.0 is vulnerable (test record)`,
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [{ package: { ecosystem: 'npm', name: PROBE }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] }],
  });
}

/** Everything a page does wrong: console errors, uncaught exceptions, failed requests, HTTP errors. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error on ${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught on ${page.url()}: ${e.message}`));
  page.on('requestfailed', (r) => {
    // Leaving a document aborts its event stream: that is not a failure of the page.
    if (r.failure()?.errorText === 'net::ERR_ABORTED' && new URL(r.url()).pathname === '/api/v1/events') return;
    problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
  return problems;
}

const textOf = async (page: Page, selector: string): Promise<string> => ((await page.locator(selector).first().textContent()) ?? '').trim();
const intOf = async (page: Page, selector: string): Promise<number> => Number((await textOf(page, selector)).replace(/,/g, ''));

/** The severity chips of one element, as gRPC's SeverityCounts fields. */
async function chips(page: Page, selector: string): Promise<Record<string, number>> {
  const values = await page
    .locator(`${selector} [data-severity]`)
    .evaluateAll((els) => els.map((e) => [e.getAttribute('data-severity'), Number(e.textContent)]));
  return Object.fromEntries(values.map(([s, n]) => [String(s).toLowerCase(), n as number]));
}

const countsOf = (r: Report) => ({
  critical: r.counts?.critical ?? 0,
  high: r.counts?.high ?? 0,
  medium: r.counts?.medium ?? 0,
  low: r.counts?.low ?? 0,
  unknown: r.counts?.unknown ?? 0,
});

/** Every row of a server-paginated table (`read` turns a page's rows into strings), following Next until it is disabled. */
async function allRows(page: Page, table: string, read: (rows: El[]) => string[]): Promise<string[]> {
  const out: string[] = [];
  for (let n = 0; n < 100; n++) {
    await page.waitForSelector(`[data-test="${table}"][aria-busy="false"]`);
    out.push(...(await page.locator(`[data-test="${table}"] tbody tr`).evaluateAll(read)));
    const next = page.locator(`[data-test="${table}-next"]`);
    if (await next.isDisabled()) return out;
    const status = await textOf(page, `[data-test="${table}"] .pager-status`);
    await next.click();
    await page.waitForFunction(([t, s]) => document.querySelector(`[data-test="${t}"] .pager-status`)?.textContent !== s, [table, status] as const);
  }
  throw new Error(`${table}: more than 100 pages`);
}

test('the web console in Chromium: every page against the gateway’s gRPC answers, a finding to its layer, the scan form, a live delta', {
  skip,
  timeout: 900_000,
}, async (t) => {
  // The UI bundle, built from the sources as the gateway's build does.
  const uiDir = mkdtempSync(join(tmpdir(), 'strata-console-ui-'));
  const dbDir = mkdtempSync(join(tmpdir(), 'strata-console-db-'));
  const removeDirs = () => {
    rmSync(uiDir, { recursive: true, force: true });
    rmSync(dbDir, { recursive: true, force: true });
  };
  let d: Awaited<ReturnType<typeof createDeployment>>;
  try {
    await run(process.execPath, [join(repoRoot, 'services/gateway/console-ui/build.mjs'), uiDir]);
    cpSync(advisoryDb, dbDir, { recursive: true });
    mkdirSync(join(dbDir, 'ghsa'), { recursive: true });
    d = await createDeployment('console', { STRATA_DB: dbDir, STRATA_DB_RECHECK_MS: '300' });
  } catch (error) {
    removeDirs();
    throw error;
  }
  // Cleanups run last-registered first: the browser, the watcher and the client before the services,
  // the services before the folders they read.
  const cleanups: Array<() => unknown> = [];
  const defer = (cleanup: () => unknown) => cleanups.push(cleanup);
  t.after(async () => {
    for (const cleanup of cleanups.reverse())
      await Promise.resolve()
        .then(cleanup)
        .catch((error: unknown) => t.diagnostic(`cleanup: ${describeError(error)}`));
  });
  defer(removeDirs);
  defer(() => d.teardown());
  assert.ok(d.env.STRATA_PG_URL, 'the console reads the findings DB: PostgreSQL is required');
  await d.startAll();

  // The gateway as its own process: gRPC and the console on free loopback ports, with a token.
  const [grpcPort, consolePort] = [await freePort(), await freePort()];
  const gateway = d.spawn('gateway', {
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(grpcPort),
    GATEWAY_TOKEN: TOKEN,
    GATEWAY_CONSOLE_HOST: '127.0.0.1',
    GATEWAY_CONSOLE_PORT: String(consolePort),
    GATEWAY_CONSOLE_DIR: uiDir,
    GATEWAY_INDEX_SYNC_MS: '0',
    STRATA_DB: dbDir,
    STRATA_DB_RECHECK_MS: '300',
  });
  const base = `http://127.0.0.1:${consolePort}`;
  await waitUntil(
    async () => {
      if (gateway.child.exitCode !== null) throw new Error(`the gateway exited: ${JSON.stringify(gateway.lines.slice(-5))}`);
      return (await fetch(`${base}/api/v1/status`).catch(() => undefined))?.ok ? true : undefined;
    },
    120_000,
    'the console to answer',
  );
  const client = connect(ScanService, `127.0.0.1:${grpcPort}`, { token: TOKEN });
  defer(() => client.close());

  // The fixture images, scanned the way a watched registry is: every platform of the index.
  const host = infra.registry('anonymous')!.host;
  const requested: string[] = [];
  let passes = 0;
  const watcher = await startWatcher(
    loadServiceConfig(watcherSettings, {
      ...d.env,
      STRATA_WATCH_INTERVAL_MS: '600000',
      STRATA_WATCH_REGISTRIES: JSON.stringify([{ host, include: ['strata/debian-*', 'strata/multiarch', 'strata/small'] }]),
    }),
    {
      observe: (e) => {
        if (e.outcome === 'requested') requested.push(e.scanId);
        if (e.outcome === 'pass') passes++;
      },
      processMetrics: false,
      logger: d.logger.child({ svc: 'watcher' }),
    },
  );
  defer(() => watcher.stop());
  await waitUntil(() => (passes > 0 ? true : undefined), 120_000, 'a watcher pass');
  assert.ok(requested.length >= 5, `the watcher requested ${requested.length} scans`);
  const digests = new Set<string>();
  for (const id of requested) {
    const record = await d.waitForRecord(id, (r) => r.status === 'COMPLETED' || r.status === 'FAILED', 400_000);
    assert.equal(record.status, 'COMPLETED', `scan ${id}: ${JSON.stringify(record.error)}`);
    digests.add(record.manifestDigest!);
  }

  // What gRPC says of each image: the report (counts and findings) of its newest scan.
  const reports = new Map<string, { report: Report; json: TrivyJson }>();
  for (const digest of digests) {
    const report = await client.client.getReport({ selector: { case: 'manifestDigest', value: digest } });
    assert.equal(report.status, ScanStatus.COMPLETED);
    reports.set(digest, { report, json: JSON.parse(Buffer.from(report.content).toString('utf8')) as TrivyJson });
  }
  const totals = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const { report } of reports.values()) for (const [k, v] of Object.entries(countsOf(report))) totals[k as keyof typeof totals] += v;
  assert.ok(totals.critical + totals.high > 0, 'the fixture DB has serious findings for the fixture images');

  // --- the browser ---------------------------------------------------------------------------
  const browser: Browser = await chromium.launch({ executablePath: process.env.STRATA_TEST_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  defer(() => browser.close());
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchProblems(page);
  mkdirSync(shots, { recursive: true });
  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  /** Browser-side load times (navigation to the page's data shown), printed at the end; no threshold. */
  const loadTimes: Array<{ path: string; ms: number }> = [];
  const open = async (path: string) => {
    const started = performance.now();
    const res = await page.goto(path);
    assert.equal(res?.status(), 200, `GET ${path}`);
    assert.equal(res?.headers()['content-type']?.split(';')[0], 'text/html');
    if (path !== '/') {
      await page.waitForSelector('.page[data-loaded]');
      loadTimes.push({ path, ms: Math.round(performance.now() - started) });
    }
  };

  // Login: the console asks for the token first.
  await open('/');
  await page.waitForSelector('[data-test="login-form"]');
  await shot('login');
  // A wrong token is refused with the server's message (its 401 is the one HTTP error expected here).
  await page.fill('[data-test="login-token"]', `${TOKEN}-wrong`);
  await page.click('[data-test="login-submit"]');
  await page.waitForSelector('[data-test="login-form"] [data-test="error"]');
  assert.equal(problems.filter((p) => !/401/.test(p)).length, 0, problems.join('\n'));
  problems.length = 0;
  await page.fill('[data-test="login-token"]', TOKEN);
  await page.click('[data-test="login-submit"]');
  await page.waitForSelector('[data-test="total-platforms"]');
  await page.waitForFunction(() => document.querySelector('[data-test="live-state"]')?.getAttribute('data-state') === 'live');

  // Overview: totals and each image's counts as gRPC reports them.
  await page.waitForFunction((n) => document.querySelector('[data-test="total-platforms"]')?.textContent === String(n), digests.size);
  for (const [name, n] of Object.entries(totals)) assert.equal(await intOf(page, `[data-test="findings-${name}"]`), n, `overview: ${name} findings`);
  const listed = await allRows(page, 'images', (rows) =>
    rows.map(
      (row) =>
        `${row.getAttribute('data-digest')} ${Array.from(row.querySelectorAll('[data-severity]'))
          .map((c) => c.textContent)
          .join(',')}`,
    ),
  );
  assert.deepEqual(
    listed.sort(),
    [...reports].map(([digest, { report }]) => `${digest} ${Object.values(countsOf(report)).join(',')}`).sort(),
    'overview: one row per platform manifest with its counts',
  );
  await page.waitForSelector('[data-test="trend-chart"] canvas');
  // The trend's newest day: the open findings now, which are the reports' counts.
  const chart = page.locator('[data-test="trend-chart"]');
  assert.equal(Number(await chart.getAttribute('data-points')), 30);
  for (const [name, n] of Object.entries(totals)) assert.equal(Number(await chart.getAttribute(`data-last-${name}`)), n, `trend today: ${name}`);
  // The most widespread vulnerability that has a fix (the first of the list when none has).
  const topRows = page.locator('[data-test="top-vulnerabilities"] tbody tr');
  const fixable = topRows.filter({ has: page.locator('.tag') });
  const topVuln = await ((await fixable.count()) > 0 ? fixable : topRows).first().getAttribute('data-id');
  assert.ok(topVuln, 'the overview names the most widespread vulnerabilities');
  await shot('overview');

  // Severity and fixed-only: the high findings that have a fix, as the reports count them.
  const highFixed = [...reports.values()].reduce(
    (n, { json }) => n + (json.Results ?? []).flatMap((r) => r.Vulnerabilities ?? []).filter((v) => v.Severity === 'HIGH' && v.FixedVersion).length,
    0,
  );
  await page.check('[data-test="filter-high"]');
  await page.check('[data-test="filter-fixed"]');
  await page.click('[data-test="filter-apply"]');
  await page.waitForURL(/fixedOnly=1/);
  await page.waitForSelector('.page[data-loaded] [data-test="findings-high"]');
  assert.equal(await intOf(page, '[data-test="findings-high"]'), highFixed, 'overview: high findings with a fix');
  for (const other of ['critical', 'medium', 'low', 'unknown']) assert.equal(await intOf(page, `[data-test="findings-${other}"]`), 0, `filtered out: ${other}`);
  await page.click('[data-test="filters"] a[href="/"]');
  await page.waitForSelector('.page[data-loaded] [data-test="findings-low"]');

  // The filters: a repository glob narrows the list to that repository's platforms.
  await page.fill('[data-test="filter-repo"]', `${host}/strata/debian-multi`);
  await page.click('[data-test="filter-apply"]');
  await page.waitForURL(/repo=/);
  await page.waitForSelector('.page[data-loaded] [data-test="images"][aria-busy="false"]');
  const multi = await allRows(page, 'images', (rows) => rows.map((row) => row.querySelector('a')?.textContent ?? ''));
  assert.ok(multi.length > 0 && multi.length < digests.size, `filtered: ${multi}`);
  assert.ok(
    multi.every((ref) => ref.startsWith(`${host}/strata/debian-multi`)),
    `filtered: ${multi}`,
  );
  assert.equal(await intOf(page, '[data-test="total-platforms"]'), multi.length);

  // Image pages: counts, findings (every page of the list) and the report download, against GetReport.
  for (const [digest, { report, json }] of reports) {
    await open(`/images/${digest}`);
    await page.waitForSelector('[data-test="layers"]');
    await page.waitForSelector('[data-test="findings"][aria-busy="false"]');
    assert.equal(await textOf(page, '[data-test="image-digest"]'), digest);
    assert.deepEqual(await chips(page, 'dd [data-test="image-counts"]'), countsOf(report), `${digest}: counts`);
    const shown = await allRows(page, 'findings', (rows) =>
      rows.map((row) =>
        [
          row.getAttribute('data-id'),
          row.getAttribute('data-package'),
          ...Array.from(row.querySelectorAll('td'))
            .slice(2, 5)
            .map((td) => td.textContent),
        ].join('|'),
      ),
    );
    const expected = (json.Results ?? []).flatMap((r) =>
      (r.Vulnerabilities ?? []).map((v) => [v.VulnerabilityID, v.PkgName, v.InstalledVersion, v.FixedVersion || 'no fix', v.Severity].join('|')),
    );
    assert.deepEqual([...new Set(shown)].sort(), [...new Set(expected)].sort(), `${digest}: findings`);
    assert.ok((await page.locator('[data-test="layers"] tbody tr').count()) > 0, `${digest}: layers`);
  }

  // The image page of the image with the most findings: its screenshot and the JSON report download.
  const [worst] = [...reports].sort(
    (a, b) => Object.values(countsOf(b[1].report)).reduce((x, y) => x + y) - Object.values(countsOf(a[1].report)).reduce((x, y) => x + y),
  );
  await open(`/images/${worst![0]}`);
  await page.waitForSelector('[data-test="findings"][aria-busy="false"]');
  await page.waitForSelector('[data-test="packages"][aria-busy="false"]');
  await shot('image');
  // Packages by layer, through every page of the list: as many as the image's package count.
  const packageRows = await allRows(page, 'packages', (rows) => rows.map((row) => `${row.getAttribute('data-layer')}|${row.getAttribute('data-package')}`));
  assert.ok(packageRows.length > 30, `more than one page of packages (${packageRows.length})`);
  assert.equal(packageRows.length, await intOf(page, 'dd[data-test="image-packages"]'));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test="reports"] a[data-format="json"]')]);
  const downloaded = JSON.parse(readFileSync((await download.path())!, 'utf8')) as Record<string, unknown>;
  const grpcJson = await client.client.getReport({ selector: { case: 'manifestDigest', value: worst![0] }, format: ReportFormat.JSON });
  const { CreatedAt: _a, ...fromConsole } = downloaded;
  const { CreatedAt: _b, ...fromGrpc } = JSON.parse(Buffer.from(grpcJson.content).toString('utf8')) as Record<string, unknown>;
  assert.deepEqual(fromConsole, fromGrpc, 'the downloaded JSON report is GetReport’s');
  // Every format the page links to downloads as an attachment; the table is GetReport's byte for byte.
  const links = await page
    .locator('[data-test="reports"] a[data-format]')
    .evaluateAll((els) => els.map((e) => [e.getAttribute('data-format'), e.getAttribute('href')]));
  assert.deepEqual(links.map(([f]) => f).sort(), ['cyclonedx', 'json', 'sarif', 'spdx', 'table']);
  for (const [format, href] of links) {
    const res = await page.request.get(href!);
    assert.equal(res.status(), 200, `${format} report`);
    assert.match(res.headers()['content-disposition'] ?? '', /^attachment/, `${format} report`);
    assert.ok((await res.body()).length > 0, `${format} report`);
    if (format === 'table') {
      const grpcTable = await client.client.getReport({ selector: { case: 'manifestDigest', value: worst![0] }, format: ReportFormat.TABLE });
      assert.equal(await res.text(), Buffer.from(grpcTable.content).toString('utf8'), 'the table report is GetReport’s');
    }
  }

  // Vulnerability page of the most widespread one, against ListAffectedImages.
  const affected = await client.client.listAffectedImages({ query: { case: 'advisoryId', value: topVuln } });
  await open(`/vulnerabilities/${encodeURIComponent(topVuln)}`);
  await page.waitForSelector('[data-test="affected"][aria-busy="false"]');
  assert.equal(await intOf(page, '[data-test="vuln-platforms"]'), affected.images.length);
  // (the fix is the third cell from the end: the first row of an image has two more, spanning its packages)
  const rows = await allRows(page, 'affected', (rows) =>
    rows.map((row) => `${row.getAttribute('data-digest')}|${row.getAttribute('data-package')}|${row.children[row.children.length - 3]?.textContent}`),
  );
  assert.deepEqual(
    [...new Set(rows)].sort(),
    [...new Set(affected.images.flatMap((i) => i.packages.map((p) => `${i.manifestDigest}|${p.name}|${p.fixedVersion || 'no fix'}`)))].sort(),
    `${topVuln}: images, packages and fixes`,
  );
  await shot('vulnerability');

  // Follow the finding to its image and the layer that brought the package in.
  const first = affected.images.find((i) => i.manifestDigest === (rows[0] ?? '').split('|')[0])!;
  const layerOfFirst = first.packages.find((p) => p.name === (rows[0] ?? '').split('|')[1])!.layers[0]!;
  await page.locator(`[data-test="affected"] tbody tr[data-digest="${first.manifestDigest}"] td:last-child a`).first().click();
  await page.waitForURL(new RegExp(`/images/${first.manifestDigest}\\?layer=`));
  await page.waitForSelector('[data-test="selected-layer"]');
  assert.equal(await page.locator('[data-test="selected-layer"]').getAttribute('data-diffid'), layerOfFirst.diffId);
  await page.waitForSelector(`[data-test="findings"][aria-busy="false"] tr[data-id="${topVuln}"]`);
  assert.equal(await page.locator('[data-test="selected-layer"] .created-by').textContent(), layerOfFirst.createdBy || '—');

  // The scan form: an image with the probe package, scanned now; every stage ends done.
  const repo = uniqueName('console').toLowerCase();
  // Its layer's created_by is markup, as an image's history may carry anything: shown as text, never run.
  const hostileCreatedBy = `COPY ${PROBE} <img src=x onerror="window.__injected=1"><script>window.__injected=2</script>`;
  const probeLayer = await tarLayer({ [`opt/app/node_modules/${PROBE}/package.json`]: JSON.stringify({ name: PROBE, version: '1.4.0' }) }, hostileCreatedBy);
  const pushed = await pushImage(host, `${repo}/app`, 'v1', [await uniqueLayer(`${repo}-base`), probeLayer]);
  // A second tab keeps the overview open: the new image must appear there without a reload.
  const overview = await context.newPage();
  const overviewProblems = watchProblems(overview);
  await overview.goto('/');
  await overview.waitForSelector('.page[data-loaded] [data-test="total-platforms"]');
  await overview.waitForFunction(() => document.querySelector('[data-test="live-state"]')?.getAttribute('data-state') === 'live');
  const platformsBefore = await intOf(overview, '[data-test="total-platforms"]');
  await overview.evaluate(() => Object.assign(window, { __notReloaded: true }));

  await page.click('[data-test="nav-scan"]');
  await page.fill('[data-test="scan-ref"]', pushed.ref);
  await page.click('[data-test="scan-submit"]');
  await page.waitForSelector('[data-test="scan-progress"][data-status="COMPLETED"]', { timeout: 300_000 });
  await overview.waitForFunction((n) => document.querySelector('[data-test="total-platforms"]')?.textContent === String(n), platformsBefore + 1);
  await overview.waitForSelector(`[data-test="images"] tr[data-digest="${pushed.manifestDigest}"]`);
  await overview.waitForSelector(`[data-test="live-feed"] li[data-kind="FULL"][data-digest="${pushed.manifestDigest}"]`);
  assert.equal(await overview.evaluate(() => window.__notReloaded), true, 'the overview was not reloaded');
  await overview.close();
  assert.deepEqual(overviewProblems, []);
  const stages = await page.locator('[data-test="scan-progress"] [data-stage]').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
  assert.ok(stages.length >= 4 && stages.every((s) => s === 'done'), `stages: ${stages}`);
  await shot('scan');

  // Live: the image page stays open while an advisory for the probe package arrives.
  await page.click('[data-test="scan-progress"] a[data-link]');
  await page.waitForURL(new RegExp(`/images/${pushed.manifestDigest}`));
  await page.waitForSelector('.page[data-loaded] [data-test="findings"][aria-busy="false"]');
  assert.equal(await page.locator(`[data-test="findings"] tr[data-id="${PROBE_ID}"]`).count(), 0);
  const before = await chips(page, 'dd [data-test="image-counts"]');
  assert.ok((await page.locator('[data-test="layers"] .created-by').allTextContents()).includes(hostileCreatedBy), 'created_by shown as text');
  assert.equal(await page.locator('[data-test="layers"] img, [data-test="layers"] script').count(), 0);
  assert.equal(await page.evaluate(() => window.__injected), undefined, 'nothing from created_by ran');
  await page.evaluate(() => Object.assign(window, { __notReloaded: true }));
  // the Layers table's findings column (the last one), summed over the layers
  const layerFindings = async () =>
    (await page.locator('[data-test="layers"] tbody tr td:last-child').allTextContents()).reduce((sum, text) => sum + Number(text.replace(/\D/g, '') || 0), 0);
  const layerFindingsBefore = await layerFindings();
  const staging = `${dbDir}.staging`;
  writeFileSync(staging, probeRecord());
  renameSync(staging, join(dbDir, 'ghsa', `${PROBE_ID}.json`));
  await page.waitForSelector(`[data-test="findings"] tr[data-id="${PROBE_ID}"]`, { timeout: 120_000 });
  await page.waitForSelector('[data-test="image-live"]:not([hidden])');
  await page.waitForSelector(`[data-test="live-feed"] li[data-kind="DELTA"][data-digest="${pushed.manifestDigest}"]`);
  assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was not reloaded');
  await page.waitForFunction(
    (n) => document.querySelector('dd [data-test="image-counts"] [data-severity="CRITICAL"]')?.textContent === String(n),
    (before.critical ?? 0) + 1,
  );
  // the layer that brought the probe package in counts the new finding too (its counts are not cached past the delta)
  await waitUntil(async () => ((await layerFindings()) === layerFindingsBefore + 1 ? true : undefined), 20_000, 'the Layers table to count the delta');
  const probeAffected = await waitUntil(
    async () => {
      const answer = await client.client.listAffectedImages({ query: { case: 'advisoryId', value: PROBE_ID } });
      return answer.images.length > 0 ? answer : undefined;
    },
    30_000,
    'the gateway to know the probe advisory',
  );
  assert.deepEqual(
    probeAffected.images.map((i) => i.manifestDigest),
    [pushed.manifestDigest],
  );
  const probeRow = page.locator(`[data-test="findings"] tr[data-id="${PROBE_ID}"] td`);
  assert.deepEqual((await probeRow.allTextContents()).slice(1, 5), [`${PROBE}npm`, '1.4.0', '2.0.0', 'CRITICAL']);
  await shot('image-live');

  // From the finding to its vulnerability page: the one image, and the fix, as ListAffectedImages says.
  await page.click(`[data-test="findings"] tr[data-id="${PROBE_ID}"] a[href^="/vulnerabilities/"]`);
  await page.waitForURL(new RegExp(`/vulnerabilities/${PROBE_ID}$`));
  await page.waitForSelector('.page[data-loaded] [data-test="affected"][aria-busy="false"]');
  // (the gateway's in-memory overview looks for changes at most every 2 s: its totals may lag the
  // rows for that long, so the page is opened again until they agree)
  await waitUntil(
    async () => {
      if ((await intOf(page, '[data-test="vuln-platforms"]')) === probeAffected.images.length) return true;
      await new Promise((r) => setTimeout(r, 1_000));
      await open(`/vulnerabilities/${PROBE_ID}`);
      return undefined;
    },
    20_000,
    `the vulnerability page to count ${probeAffected.images.length} platform(s)`,
  );
  assert.equal(await textOf(page, '[data-test="vuln-fixed"]'), probeAffected.images[0]!.packages[0]!.fixedVersion);
  assert.deepEqual(await page.locator('[data-test="affected"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-digest'))), [
    pushed.manifestDigest,
  ]);

  assert.deepEqual(problems, [], 'the browser saw no errors');
  for (const { path, ms } of loadTimes) t.diagnostic(`page load ${ms} ms (navigation to data shown): ${path.length > 60 ? `${path.slice(0, 60)}…` : path}`);
});
