// The Strata web console: a small single-page app without a framework. Path routing (the gateway
// answers index.html for every non-API path), one live event stream for every page, and a login
// form when the gateway has a token and this browser has no session yet.
import './console.css';
import { api, HttpError, type Live, liveEvents, type LiveState, setUnauthorizedHandler, type StatusResponse } from './api.js';
import { displayRef, h, replace, shortDigest } from './dom.js';
import { imagePage } from './pages/image.js';
import { loginPage } from './pages/login.js';
import { overviewPage } from './pages/overview.js';
import { scanPage } from './pages/scan.js';
import { vulnerabilityPage } from './pages/vulnerability.js';
import { errorBox } from './ui.js';

export interface PageContext {
  root: HTMLElement;
  /** the path parameter of the route (digest, vulnerability id) */
  param: string;
  query: URLSearchParams;
  navigate(path: string, options?: { replace?: boolean }): void;
  live: Live;
  status: StatusResponse;
}
/** A page renders into ctx.root and returns what to do when it is left. */
export type Page = (ctx: PageContext) => (() => void) | void;

const routes: Array<{ pattern: RegExp; page: Page; nav: string }> = [
  { pattern: /^\/$/, page: overviewPage, nav: 'overview' },
  { pattern: /^\/images\/([^/]+)$/, page: imagePage, nav: 'overview' },
  { pattern: /^\/vulnerabilities\/([^/]+)$/, page: vulnerabilityPage, nav: 'overview' },
  { pattern: /^\/scan$/, page: scanPage, nav: 'scan' },
];

const liveDot = h('span', { class: 'live-dot', 'data-test': 'live-state', 'data-state': 'down', title: 'live updates' });
const liveLabel = h('span', { class: 'live-label' }, 'offline');
const feed = h('ol', { class: 'feed', 'data-test': 'live-feed' });
const main = h('main', { id: 'main' });
const navLinks = {
  overview: h('a', { href: '/', 'data-link': true }, 'Registry'),
  scan: h('a', { href: '/scan', 'data-link': true, 'data-test': 'nav-scan' }, 'Scan'),
};
const logout = h('button', { type: 'button', class: 'logout', hidden: true }, 'Log out');

let status: StatusResponse;
let leave: (() => void) | void;

const live = liveEvents((state: LiveState) => {
  liveDot.dataset.state = state;
  liveLabel.textContent = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'offline';
});

// The header's feed: the newest findings events, whatever page is shown.
live.listen({
  findings(e) {
    const what =
      e.kind === 'FULL'
        ? `scanned: ${e.counts.critical} critical, ${e.counts.high} high`
        : `${e.added.length > 0 ? `+${e.added.map((f) => f.vulnerabilityId).join(', +')}` : ''}${e.added.length > 0 && e.resolved.length > 0 ? ' ' : ''}${
            e.resolved.length > 0 ? `−${e.resolved.map((f) => f.vulnerabilityId).join(', −')}` : ''
          }`;
    const item = h(
      'li',
      { 'data-kind': e.kind, 'data-digest': e.manifestDigest },
      h('span', { class: `kind kind-${e.kind.toLowerCase()}` }, e.kind),
      ' ',
      h(
        'a',
        { href: `/images/${e.manifestDigest}`, 'data-link': true, title: e.manifestDigest },
        e.imageRef ? displayRef(e.imageRef) : shortDigest(e.manifestDigest),
      ),
      ' ',
      h('span', { class: 'what' }, what),
    );
    feed.prepend(item);
    while (feed.children.length > 8) feed.lastElementChild?.remove();
  },
});

function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function render(): void {
  if (typeof leave === 'function') leave();
  leave = undefined;
  window.scrollTo(0, 0);
  const root = h('div', { class: 'page' });
  replace(main, root);
  const { pathname, search } = window.location;
  if (pathname === '/login' || (status.authRequired && !status.authenticated)) {
    live.stop();
    logout.hidden = true;
    leave = loginPage({ root, param: '', query: new URLSearchParams(search), navigate, live, status }, async () => {
      status = await api.status();
      live.start();
      logout.hidden = !status.authRequired;
      const back = new URLSearchParams(search).get('next');
      navigate(back?.startsWith('/') && !back.startsWith('//') ? back : '/', { replace: true });
    });
    return;
  }
  if (!status.database.available)
    main.prepend(
      h(
        'div',
        { class: 'error', role: 'alert', 'data-test': 'no-database' },
        status.database.message ?? 'The gateway has no findings database (STRATA_PG_URL): the pages have no data.',
      ),
    );
  for (const route of routes) {
    const m = route.pattern.exec(pathname);
    if (!m) continue;
    for (const [name, a] of Object.entries(navLinks)) a.classList.toggle('active', name === route.nav);
    leave = route.page({ root, param: decodeURIComponent(m[1] ?? ''), query: new URLSearchParams(search), navigate, live, status });
    return;
  }
  replace(
    root,
    h('h1', null, 'Not found'),
    h('p', null, 'No page at ', h('code', null, pathname), '.'),
    h('a', { href: '/', 'data-link': true }, 'Registry overview'),
  );
}

async function boot(): Promise<void> {
  document.body.replaceChildren(
    h(
      'header',
      null,
      h('a', { class: 'brand', href: '/', 'data-link': true }, h('img', { src: '/favicon.svg', alt: '' }), 'Strata'),
      h('nav', null, navLinks.overview, navLinks.scan),
      h('span', { class: 'live' }, liveDot, liveLabel),
      logout,
    ),
    h('div', { class: 'layout' }, main, h('aside', { class: 'feed-panel' }, h('h2', null, 'Live'), feed)),
  );
  // Internal links go through the router (plain clicks only: modifiers keep the browser's behaviour).
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const a = (event.target as Element | null)?.closest('a[data-link]');
    if (!(a instanceof HTMLAnchorElement) || a.origin !== window.location.origin) return;
    event.preventDefault();
    navigate(a.pathname + a.search);
  });
  window.addEventListener('popstate', render);
  setUnauthorizedHandler(() => {
    if (status && status.authRequired) {
      status = { ...status, authenticated: false };
      navigate(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`, { replace: true });
    }
  });
  logout.addEventListener('click', async () => {
    await api.logout().catch(() => undefined);
    status = await api.status();
    navigate('/login', { replace: true });
  });
  try {
    status = await api.status();
  } catch (error) {
    replace(main, errorBox(error instanceof HttpError ? error : new Error(`the gateway did not answer: ${String(error)}`)));
    return;
  }
  logout.hidden = !(status.authRequired && status.authenticated);
  if (!status.authRequired || status.authenticated) live.start();
  render();
}

void boot();
