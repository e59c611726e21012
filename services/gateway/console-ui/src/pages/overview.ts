// Registry overview: counts per severity, the trend of open findings, the most widespread
// vulnerabilities, the repositories with the most critical findings and the image list, all under
// the same filters (repository glob, severities, fixed-only), which live in the URL.
import { api, type Filters, type ImageSummary, type OverviewResponse } from '../api.js';
import { trendChart } from '../chart.js';
import { displayRef, fmtInt, fmtTime, h, replace, shortDigest } from '../dom.js';
import type { PageContext } from '../main.js';
import { badge, countChips, countKey, errorBox, link, loading, pagedTable, section, SEVERITIES } from '../ui.js';

const platformText = (i: { platform?: { os: string; architecture: string; variant?: string } }): string =>
  i.platform ? [i.platform.os, i.platform.architecture, i.platform.variant].filter(Boolean).join('/') : '—';

function filtersOf(query: URLSearchParams): Filters {
  const f: Filters = {};
  const repo = query.get('repo');
  const severity = query.get('severity');
  if (repo) f.repo = repo;
  if (severity) f.severity = severity;
  if (query.get('fixedOnly') === '1') f.fixedOnly = '1';
  return f;
}

function filtersToQuery(f: Filters, sort?: string): string {
  const q = new URLSearchParams();
  if (f.repo) q.set('repo', f.repo);
  if (f.severity) q.set('severity', f.severity);
  if (f.fixedOnly) q.set('fixedOnly', '1');
  if (sort && sort !== 'name') q.set('sort', sort);
  const s = q.toString();
  return s ? `/?${s}` : '/';
}

export function overviewPage(ctx: PageContext): () => void {
  const filters = filtersOf(ctx.query);
  const sort = ctx.query.get('sort') === 'risk' ? 'risk' : 'name';
  const chosen = new Set((filters.severity ?? '').toUpperCase().split(',').filter(Boolean));

  // --- filter form ---
  const repo = h('input', { type: 'text', name: 'repo', placeholder: 'e.g. registry:5000/team/*', value: filters.repo ?? '', 'data-test': 'filter-repo' });
  const sevBoxes = SEVERITIES.map((s) =>
    h(
      'label',
      { class: 'check' },
      h('input', { type: 'checkbox', name: 'severity', value: s, checked: chosen.has(s), 'data-test': `filter-${s.toLowerCase()}` }),
      s.toLowerCase(),
    ),
  );
  const fixedOnly = h('input', { type: 'checkbox', name: 'fixedOnly', checked: filters.fixedOnly === '1', 'data-test': 'filter-fixed' });
  const sortSelect = h(
    'select',
    { name: 'sort', 'data-test': 'sort' },
    h('option', { value: 'name', selected: sort === 'name' }, 'by name'),
    h('option', { value: 'risk', selected: sort === 'risk' }, 'by risk'),
  );
  const form = h(
    'form',
    { class: 'filters card', 'data-test': 'filters' },
    h('label', null, 'Repository ', repo),
    h('span', { class: 'group' }, 'Severity ', sevBoxes),
    h('label', { class: 'check' }, fixedOnly, 'fixed only'),
    h('label', null, 'Images ', sortSelect),
    h('button', { type: 'submit', 'data-test': 'filter-apply' }, 'Apply'),
    h('a', { href: '/', 'data-link': true }, 'Clear'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const severities = sevBoxes.map((l) => l.querySelector('input')!).filter((i) => i.checked);
    const f: Filters = {};
    if (repo.value.trim()) f.repo = repo.value.trim();
    if (severities.length > 0 && severities.length < SEVERITIES.length) f.severity = severities.map((i) => i.value.toLowerCase()).join(',');
    if (fixedOnly.checked) f.fixedOnly = '1';
    ctx.navigate(filtersToQuery(f, sortSelect.value));
  });

  // --- summary, trend, tops ---
  const summary = h('div', { class: 'summary' }, loading());
  const trend = h('div', null, loading());
  const tops = h('div', { class: 'two' }, loading());
  let chart: { destroy(): void } | undefined;

  const images = pagedTable<ImageSummary>({
    test: 'images',
    head: ['image', 'platform', 'findings (C H M L U)', 'packages', 'updated'],
    load: (cursor) => api.images({ ...filters, sort, ...(cursor ? { cursor } : {}), limit: 25 }),
    empty: 'No image matches these filters.',
    row: (i) =>
      h(
        'tr',
        { 'data-digest': i.manifestDigest },
        h('td', { title: i.imageRef }, link(`/images/${i.manifestDigest}`, displayRef(i.imageRef)), h('div', { class: 'sub' }, shortDigest(i.manifestDigest))),
        h('td', { class: 'platform' }, platformText(i)),
        h('td', null, countChips(i.counts, 'image-counts')),
        h('td', { class: 'num' }, fmtInt(i.packages)),
        h('td', null, fmtTime(i.updatedAt)),
      ),
  });

  const showOverview = (o: OverviewResponse) => {
    replace(
      summary,
      h(
        'div',
        { class: 'stats', 'data-test': 'totals' },
        h('div', { class: 'stat' }, h('b', { 'data-test': 'total-images' }, fmtInt(o.images)), 'images'),
        h('div', { class: 'stat' }, h('b', { 'data-test': 'total-platforms' }, fmtInt(o.platforms)), 'platforms'),
        h('div', { class: 'stat' }, h('b', { 'data-test': 'total-repositories' }, fmtInt(o.repositories)), 'repositories'),
        SEVERITIES.map((s) =>
          h(
            'div',
            { class: `stat sev-${s.toLowerCase()}` },
            h('b', { 'data-test': `findings-${s.toLowerCase()}` }, fmtInt(o.findings[countKey(s)])),
            `${s.toLowerCase()} findings`,
          ),
        ),
      ),
      h('div', { class: 'sub' }, `as of ${fmtTime(o.asOf)}`),
    );
    replace(
      tops,
      section(
        'Most widespread vulnerabilities',
        'top-vulnerabilities',
        o.topVulnerabilities.length === 0
          ? h('div', { class: 'empty' }, 'No findings.')
          : h(
              'table',
              null,
              h('thead', null, h('tr', null, h('th', null, 'vulnerability'), h('th', null, 'severity'), h('th', null, 'platforms'), h('th', null, 'findings'))),
              h(
                'tbody',
                null,
                o.topVulnerabilities.map((v) =>
                  h(
                    'tr',
                    { 'data-id': v.vulnerabilityId },
                    h(
                      'td',
                      null,
                      link(`/vulnerabilities/${encodeURIComponent(v.vulnerabilityId)}`, v.vulnerabilityId),
                      v.fixable ? h('span', { class: 'tag' }, 'fix') : null,
                    ),
                    h('td', null, badge(v.severity)),
                    h('td', { class: 'num' }, fmtInt(v.platforms)),
                    h('td', { class: 'num' }, fmtInt(v.findings)),
                  ),
                ),
              ),
            ),
      ),
      section(
        'Repositories with the most critical findings',
        'top-repositories',
        o.topRepositories.length === 0
          ? h('div', { class: 'empty' }, 'No findings.')
          : h(
              'table',
              null,
              h('thead', null, h('tr', null, h('th', null, 'repository'), h('th', null, 'platforms'), h('th', null, 'findings (C H M L U)'))),
              h(
                'tbody',
                null,
                o.topRepositories.map((r) =>
                  h(
                    'tr',
                    { 'data-repository': r.repository },
                    h('td', null, link(filtersToQuery({ ...filters, repo: r.repository }, sort), r.repository)),
                    h('td', { class: 'num' }, fmtInt(r.platforms)),
                    h('td', null, countChips(r.counts)),
                  ),
                ),
              ),
            ),
      ),
    );
  };

  const loadAll = async (first: boolean) => {
    const [o, t] = await Promise.allSettled([api.overview(filters), api.trend(filters, 30), first ? images.reload() : images.refresh()]);
    if (o.status === 'fulfilled') showOverview(o.value);
    else replace(summary, errorBox(o.reason));
    if (t.status === 'fulfilled') {
      chart?.destroy();
      const c = trendChart(t.value.points);
      chart = c;
      replace(trend, c.el);
    } else replace(trend, errorBox(t.reason));
    ctx.root.dataset.loaded = String(Date.now());
  };

  replace(
    ctx.root,
    h('h1', null, 'Registry overview'),
    form,
    summary,
    section('Open findings, last 30 days', 'trend', trend),
    tops,
    section('Images and platforms', 'images-section', images.el),
  );
  void loadAll(true);

  // Live: a new scan or a delta changes the numbers; reload (at most every 1.5 s), and once more
  // when the events have settled for 4 s (the server's overview may look for changes only every
  // few seconds, so the first reload can come too early).
  let timer: ReturnType<typeof setTimeout> | undefined;
  let settle: ReturnType<typeof setTimeout> | undefined;
  const stop = ctx.live.listen({
    findings: () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        void loadAll(false);
      }, 1_500);
      if (settle) clearTimeout(settle);
      settle = setTimeout(() => {
        settle = undefined;
        void loadAll(false);
      }, 4_000);
    },
  });
  return () => {
    stop();
    if (timer) clearTimeout(timer);
    if (settle) clearTimeout(settle);
    chart?.destroy();
  };
}
