// Shared pieces of the pages: severity badges and counts, server-paginated tables, messages.
import type { Page, Severity, SeverityCounts } from './api.js';
import { type Child, h, replace } from './dom.js';

export const SEVERITIES: readonly Severity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'];
export const countKey = (s: Severity): keyof SeverityCounts => s.toLowerCase() as keyof SeverityCounts;

export const badge = (severity: Severity): HTMLElement => h('span', { class: `sev sev-${severity.toLowerCase()}` }, severity);

/** The counts per severity as a row of numbered chips; `test` names them for the browser tests. */
export function countChips(counts: SeverityCounts, test?: string): HTMLElement {
  return h(
    'span',
    { class: 'chips', 'data-test': test },
    SEVERITIES.map((s) =>
      h('span', { class: `chip sev-${s.toLowerCase()}${counts[countKey(s)] === 0 ? ' zero' : ''}`, title: s, 'data-severity': s }, String(counts[countKey(s)])),
    ),
  );
}

export const total = (c: SeverityCounts): number => c.critical + c.high + c.medium + c.low + c.unknown;

export function errorBox(error: unknown): HTMLElement {
  return h('div', { class: 'error', role: 'alert', 'data-test': 'error' }, error instanceof Error ? error.message : String(error));
}

export const loading = (): HTMLElement => h('div', { class: 'loading' }, 'Loading…');

/** A link inside the app (the router handles the click; a middle click opens a new tab as usual). */
export const link = (href: string, ...children: Child[]): HTMLAnchorElement => h('a', { href, 'data-link': true }, ...children);

export interface PagedTable {
  readonly el: HTMLElement;
  /** reloads from the first page */
  reload(): Promise<void>;
  /** reloads the page shown */
  refresh(): Promise<void>;
}

/**
 * A table whose rows come from a server-paginated endpoint: Next follows `nextCursor`, Previous
 * goes back through the cursors seen. Only one page is in memory.
 */
export function pagedTable<T>(options: {
  test: string;
  head: string[];
  load: (cursor: string | undefined) => Promise<Page<T>>;
  row: (item: T) => HTMLTableRowElement | HTMLTableRowElement[];
  empty: string;
}): PagedTable {
  const body = h('tbody');
  const status = h('span', { class: 'pager-status' });
  const prev = h('button', { type: 'button', class: 'pager-prev', 'data-test': `${options.test}-prev` }, '← Previous');
  const next = h('button', { type: 'button', class: 'pager-next', 'data-test': `${options.test}-next` }, 'Next →');
  const message = h('div');
  const el = h(
    'div',
    { class: 'paged', 'data-test': options.test },
    h(
      'table',
      null,
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          options.head.map((t) => h('th', null, t)),
        ),
      ),
      body,
    ),
    message,
    h('div', { class: 'pager' }, prev, status, next),
  );
  /** cursors[i] loads page i (cursors[0] is undefined: the first page) */
  const cursors: Array<string | undefined> = [undefined];
  let page = 0;
  let nextCursor: string | undefined;
  let seq = 0;
  const show = async () => {
    const mine = ++seq;
    el.setAttribute('aria-busy', 'true');
    try {
      const answer = await options.load(cursors[page]);
      if (mine !== seq) return;
      nextCursor = answer.nextCursor;
      replace(
        body,
        answer.items.flatMap((item) => options.row(item)),
      );
      replace(message, answer.items.length === 0 ? h('div', { class: 'empty' }, options.empty) : null);
      status.textContent = `page ${page + 1}`;
      prev.disabled = page === 0;
      next.disabled = nextCursor === undefined;
    } catch (error) {
      if (mine !== seq) return;
      replace(body);
      replace(message, errorBox(error));
    } finally {
      if (mine === seq) el.setAttribute('aria-busy', 'false');
    }
  };
  prev.addEventListener('click', () => {
    if (page > 0) {
      page--;
      void show();
    }
  });
  next.addEventListener('click', () => {
    if (nextCursor === undefined) return;
    cursors[page + 1] = nextCursor;
    cursors.length = page + 2;
    page++;
    void show();
  });
  return {
    el,
    reload: () => {
      cursors.length = 1;
      page = 0;
      return show();
    },
    refresh: show,
  };
}

/** A section with a heading. */
export const section = (title: string, test: string | null, ...children: Child[]): HTMLElement =>
  h('section', { class: 'card', 'data-test': test }, h('h2', null, title), ...children);
