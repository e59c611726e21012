// Scan form: scan a reference now and watch its stages complete (scan events on the live stream,
// with a poll of the scan record as a fallback), then open the image. Below, the recent scans.
import { api, type ScanInfo } from '../api.js';
import { displayRef, fmtTime, h, replace, shortDigest } from '../dom.js';
import type { PageContext } from '../main.js';
import { countChips, errorBox, link, pagedTable, section } from '../ui.js';

function progress(s: ScanInfo): HTMLElement {
  return h(
    'div',
    { class: 'progress', 'data-test': 'scan-progress', 'data-status': s.status, 'data-scan-id': s.scanId },
    h('div', null, h('b', null, s.imageRef), ' ', h('span', { class: `status status-${s.status.toLowerCase()}`, 'data-test': 'scan-status' }, s.status)),
    h(
      'ol',
      { class: 'stages' },
      s.stages.map((st) => h('li', { class: `stage stage-${st.state}`, 'data-stage': st.stage, 'data-state': st.state }, st.stage.toLowerCase())),
    ),
    s.layers ? h('div', { class: 'sub' }, `${s.layers.total} layers, ${s.layers.cached} already analyzed`) : null,
    s.error ? errorBox(new Error(`${s.error.stage ? `${s.error.stage.toLowerCase()}: ` : ''}${s.error.reason}`)) : null,
    s.status === 'COMPLETED' && s.manifestDigest
      ? h('div', null, s.counts ? countChips(s.counts, 'scan-counts') : null, ' ', link(`/images/${s.manifestDigest}`, 'Open the image'))
      : null,
  );
}

export function scanPage(ctx: PageContext): () => void {
  const reference = h('input', { type: 'text', name: 'reference', required: true, placeholder: 'registry.example/app:1.2', size: 60, 'data-test': 'scan-ref' });
  const platform = h('input', { type: 'text', name: 'platform', placeholder: 'linux/amd64 (optional)', 'data-test': 'scan-platform' });
  const submit = h('button', { type: 'submit', 'data-test': 'scan-submit' }, 'Scan');
  const out = h('div', { 'data-test': 'scan-out' });
  let current: string | undefined;
  let poll: ReturnType<typeof setTimeout> | undefined;
  let done = false;

  const show = (s: ScanInfo) => {
    if (s.scanId !== current) return;
    replace(out, progress(s));
    if (s.status === 'COMPLETED' || s.status === 'FAILED') {
      done = true;
      if (poll) clearTimeout(poll);
      void recent.reload();
    }
  };
  const follow = async () => {
    poll = undefined;
    if (!current || done) return;
    try {
      show(await api.scanInfo(current));
    } catch (error) {
      replace(out, errorBox(error));
    }
    if (!done) poll = setTimeout(follow, 2_000);
  };

  const form = h(
    'form',
    { class: 'card scan-form', 'data-test': 'scan-form' },
    h('label', null, 'Reference ', reference),
    h('label', null, 'Platform ', platform),
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    done = false;
    if (poll) clearTimeout(poll);
    replace(out);
    try {
      const accepted = await api.scan({ reference: reference.value.trim(), ...(platform.value.trim() ? { platform: platform.value.trim() } : {}) });
      current = accepted.scanId;
      replace(out, h('div', { class: 'progress', 'data-test': 'scan-progress', 'data-status': 'QUEUED', 'data-scan-id': current }, `Scan ${current} queued…`));
      void follow();
    } catch (error) {
      replace(out, errorBox(error));
    } finally {
      submit.disabled = false;
    }
  });

  const recent = pagedTable<ScanInfo>({
    test: 'scans',
    head: ['scan', 'image', 'status', 'stage', 'findings (C H M L U)', 'updated'],
    load: (cursor) => api.scans({ ...(cursor ? { cursor } : {}), limit: 20 }),
    empty: 'No scans yet.',
    row: (s) =>
      h(
        'tr',
        { 'data-scan-id': s.scanId },
        h('td', { class: 'sub' }, s.scanId.slice(0, 8)),
        h(
          'td',
          null,
          s.manifestDigest ? link(`/images/${s.manifestDigest}`, displayRef(s.imageRef)) : displayRef(s.imageRef),
          s.manifestDigest ? h('div', { class: 'sub' }, shortDigest(s.manifestDigest)) : null,
        ),
        h('td', null, h('span', { class: `status status-${s.status.toLowerCase()}` }, s.status)),
        h('td', null, s.stage?.toLowerCase() ?? '—'),
        h('td', null, s.counts ? countChips(s.counts) : '—'),
        h('td', null, fmtTime(s.updatedAt)),
      ),
  });

  const prefill = ctx.query.get('ref');
  if (prefill) reference.value = prefill;
  replace(ctx.root, h('h1', null, 'Scan an image'), form, out, section('Recent scans', 'recent-scans', recent.el));
  void recent.reload();

  const stop = ctx.live.listen({ scan: (s) => show(s) });
  return () => {
    stop();
    if (poll) clearTimeout(poll);
  };
}
