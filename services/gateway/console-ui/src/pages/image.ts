// Image page (one platform manifest): the platforms of its index, its layers with created_by and
// size, the packages each layer brought in, the findings with fixed version, severity and its
// source and the layer of the package, and the report in every format. `?layer=<diffID>` narrows
// packages and findings to one layer (the vulnerability page links here that way).
import { api, type FindingRow, type ImageDetail, type PackageRow, type SeverityCounts } from '../api.js';
import { displayRef, fmtBytes, fmtInt, fmtTime, h, replace, shortDigest } from '../dom.js';
import type { PageContext } from '../main.js';
import { badge, countChips, countKey, errorBox, link, loading, pagedTable, section, SEVERITIES } from '../ui.js';

const FORMAT_LABEL: Record<string, string> = { json: 'JSON (Trivy schema)', table: 'table', sarif: 'SARIF', cyclonedx: 'CycloneDX', spdx: 'SPDX JSON' };

export function imagePage(ctx: PageContext): () => void {
  const digest = ctx.param;
  const layer = ctx.query.get('layer') ?? undefined;
  const severity = ctx.query.get('severity') ?? undefined;
  const fixedOnly = ctx.query.get('fixedOnly') === '1' ? ('1' as const) : undefined;
  const here = (q: { layer?: string | undefined; severity?: string | undefined; fixedOnly?: '1' | undefined }) => {
    const p = new URLSearchParams();
    if (q.layer) p.set('layer', q.layer);
    if (q.severity) p.set('severity', q.severity);
    if (q.fixedOnly) p.set('fixedOnly', '1');
    const s = p.toString();
    return `/images/${digest}${s ? `?${s}` : ''}`;
  };

  const head = h('div', null, loading());
  const layersBox = h('div', null, loading());
  const live = h('div', { class: 'live-note', 'data-test': 'image-live', hidden: true });
  let detail: ImageDetail | undefined;
  const layerName = (diffId: string, index: number) => {
    const l = detail?.layers.find((x) => x.diffId === diffId);
    return `#${index} ${l ? shortDigest(l.digest) : shortDigest(diffId)}`;
  };

  /** The image's detail being read: the tables' rows name layers from it, so they wait for it (the requests run side by side). */
  let pendingDetail: Promise<unknown> = Promise.resolve();
  const afterDetail = async <T>(rows: Promise<T>): Promise<T> => {
    await pendingDetail.catch(() => undefined);
    return rows;
  };

  const findings = pagedTable<FindingRow>({
    test: 'findings',
    head: ['vulnerability', 'package', 'installed', 'fixed in', 'severity', 'source', 'layer'],
    load: (cursor) =>
      afterDetail(
        api.findings(digest, {
          ...(layer ? { layer } : {}),
          ...(severity ? { severity } : {}),
          ...(fixedOnly ? { fixedOnly } : {}),
          ...(cursor ? { cursor } : {}),
          limit: 50,
        }),
      ),
    empty: 'No findings.',
    row: (f) =>
      h(
        'tr',
        { 'data-id': f.vulnerabilityId, 'data-package': f.packageName },
        h('td', null, link(`/vulnerabilities/${encodeURIComponent(f.vulnerabilityId)}`, f.vulnerabilityId)),
        h('td', null, f.packageName, h('div', { class: 'sub' }, f.ecosystem)),
        h('td', null, f.installedVersion),
        h('td', { class: f.fixedVersion ? 'fix' : 'nofix' }, f.fixedVersion || 'no fix'),
        h('td', null, badge(f.severity)),
        h('td', null, f.severitySource ?? '—'),
        h(
          'td',
          null,
          f.layers.map((l) => h('div', null, link(here({ layer: l.diffId }), layerName(l.diffId, l.index)), h('div', { class: 'sub', title: l.path }, l.path))),
        ),
      ),
  });

  const packages = pagedTable<PackageRow>({
    test: 'packages',
    head: ['layer', 'package', 'version', 'ecosystem', 'path'],
    load: (cursor) => afterDetail(api.packages(digest, { ...(layer ? { layer } : {}), ...(cursor ? { cursor } : {}), limit: 30 })),
    empty: 'No packages.',
    row: (p) =>
      h(
        'tr',
        { 'data-package': p.name, 'data-layer': p.layerDiffId },
        h('td', null, link(here({ layer: p.layerDiffId }), layerName(p.layerDiffId, p.layerIndex))),
        h('td', { title: p.purl ?? '' }, p.name),
        h('td', null, p.version),
        h('td', null, p.ecosystem),
        h('td', { class: 'path' }, p.path),
      ),
  });

  const severitySelect = h(
    'select',
    { 'data-test': 'findings-severity' },
    h('option', { value: '' }, 'all severities'),
    SEVERITIES.map((s) => h('option', { value: s.toLowerCase(), selected: severity === s.toLowerCase() }, `${s.toLowerCase()}`)),
  );
  const fixedBox = h('input', { type: 'checkbox', checked: fixedOnly === '1', 'data-test': 'findings-fixed' });
  const refilter = () =>
    ctx.navigate(here({ layer, severity: severitySelect.value || undefined, fixedOnly: fixedBox.checked ? '1' : undefined }), { replace: true });
  severitySelect.addEventListener('change', refilter);
  fixedBox.addEventListener('change', refilter);

  const showDetail = (d: ImageDetail) => {
    detail = d;
    const i = d.image;
    replace(
      head,
      h('h1', { 'data-test': 'image-ref', title: i.imageRef }, displayRef(i.imageRef)),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'manifest'),
        h('dd', { 'data-test': 'image-digest' }, i.manifestDigest),
        i.indexDigest ? [h('dt', null, 'index'), h('dd', null, i.indexDigest)] : null,
        h('dt', null, 'repository'),
        h('dd', null, link(`/?repo=${encodeURIComponent(i.repository)}`, i.repository)),
        h('dt', null, 'platform'),
        h('dd', null, i.platform ? [i.platform.os, i.platform.architecture, i.platform.variant].filter(Boolean).join('/') : '—'),
        h('dt', null, 'packages'),
        h('dd', { 'data-test': 'image-packages' }, fmtInt(i.packages)),
        h('dt', null, 'findings'),
        h('dd', null, countChips(i.counts, 'image-counts')),
        h('dt', null, 'advisory DB'),
        h('dd', { class: 'sub' }, i.advisoryDbVersion ?? '—'),
        h('dt', null, 'scanned'),
        h('dd', null, `first ${fmtTime(i.firstSeenAt)}, updated ${fmtTime(i.updatedAt)}`),
        h('dt', null, 'report'),
        h(
          'dd',
          { 'data-test': 'reports' },
          d.reportAvailable
            ? d.reportFormats.map((f) => h('a', { href: api.reportUrl(digest, f), download: '', class: 'download', 'data-format': f }, FORMAT_LABEL[f] ?? f))
            : 'no stored report',
        ),
      ),
      d.refs.length > 1
        ? h(
            'details',
            null,
            h('summary', null, `${d.refs.length} references`),
            h(
              'ul',
              null,
              d.refs.map((r) => h('li', null, r.imageRef, ' ', h('span', { class: 'sub' }, fmtTime(r.lastSeenAt)))),
            ),
          )
        : null,
      section(
        'Platforms of the index',
        'platforms',
        h(
          'table',
          null,
          h('thead', null, h('tr', null, h('th', null, 'platform'), h('th', null, 'manifest'), h('th', null, 'findings (C H M L U)'))),
          h(
            'tbody',
            null,
            d.platforms.map((p) =>
              h(
                'tr',
                { class: p.manifestDigest === digest ? 'current' : '', 'data-digest': p.manifestDigest },
                h('td', { class: 'platform' }, p.platform ? [p.platform.os, p.platform.architecture, p.platform.variant].filter(Boolean).join('/') : '—'),
                h('td', null, p.manifestDigest === digest ? shortDigest(p.manifestDigest) : link(`/images/${p.manifestDigest}`, shortDigest(p.manifestDigest))),
                h('td', null, countChips(p.counts)),
              ),
            ),
          ),
        ),
      ),
    );
    replace(
      layersBox,
      h(
        'table',
        { 'data-test': 'layers' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['#', 'layer', 'created by', 'size', 'packages', 'findings'].map((t) => h('th', null, t)),
          ),
        ),
        h(
          'tbody',
          null,
          d.layers.map((l) =>
            h(
              'tr',
              {
                id: `layer-${l.index}`,
                class: l.diffId === layer ? 'selected' : '',
                'data-diffid': l.diffId,
                'data-test': l.diffId === layer ? 'selected-layer' : null,
              },
              h('td', { class: 'num' }, String(l.index)),
              h(
                'td',
                { title: `digest ${l.digest}\ndiffID ${l.diffId}` },
                link(here({ layer: l.diffId === layer ? undefined : l.diffId, severity, fixedOnly }), shortDigest(l.digest)),
              ),
              h('td', { class: 'created-by' }, l.createdBy || '—'),
              h('td', { class: 'num' }, fmtBytes(l.size)),
              h('td', { class: 'num' }, fmtInt(l.packages)),
              h('td', { class: 'num' }, fmtInt(l.findings)),
            ),
          ),
        ),
      ),
    );
    if (layer) document.getElementById(`layer-${d.layers.find((l) => l.diffId === layer)?.index}`)?.scrollIntoView({ block: 'center' });
  };

  /** counts a live event announced: until the database shows them, the page reads again */
  let expected: { counts: SeverityCounts; tries: number } | undefined;
  let again: ReturnType<typeof setTimeout> | undefined;
  const load = async (first: boolean) => {
    // (detail is set before the tables' wait ends, so their rows can name layers)
    const reading = api.image(digest).then((d) => (detail = d));
    pendingDetail = reading;
    const tables = Promise.all(first ? [findings.reload(), packages.reload()] : [findings.refresh(), packages.refresh()]);
    try {
      showDetail(await reading);
    } catch (error) {
      replace(head, h('h1', null, shortDigest(digest)), errorBox(error));
      replace(layersBox);
    }
    await tables;
    ctx.root.dataset.loaded = String(Date.now());
    if (expected && detail && SEVERITIES.some((s) => detail!.image.counts[countKey(s)] !== expected!.counts[countKey(s)]) && expected.tries++ < 10)
      again = setTimeout(() => void load(false), 500);
    else expected = undefined;
  };

  replace(
    ctx.root,
    head,
    live,
    section('Layers', 'layers-section', layer ? h('p', null, 'Showing one layer. ', link(here({ severity, fixedOnly }), 'Show every layer')) : null, layersBox),
    section(
      'Findings',
      'findings-section',
      h('div', { class: 'filters-inline' }, severitySelect, h('label', { class: 'check' }, fixedBox, 'fixed only')),
      findings.el,
    ),
    section(layer ? 'Packages of this layer' : 'Packages by layer', 'packages-section', packages.el),
  );
  void load(true);

  // Live: a re-match (DELTA) or a new scan of this manifest changes what the page shows.
  const stop = ctx.live.listen({
    findings: (e) => {
      if (e.manifestDigest !== digest) return;
      live.hidden = false;
      replace(
        live,
        `Updated live (${e.kind}${e.kind === 'DELTA' ? `: ${e.added.length} added, ${e.resolved.length} resolved` : ''}) at ${fmtTime(e.publishedAt ?? Date.now())}`,
      );
      expected = { counts: e.counts, tries: 0 };
      if (again) clearTimeout(again);
      void load(false);
    },
  });
  return () => {
    stop();
    if (again) clearTimeout(again);
  };
}
