import { useEffect, useRef } from 'preact/hooks';
import { useApp } from './context.js';
import { PAGES } from './pages/index.js';
import { href, useRoute } from './router.js';

/** Layout: top bar (domain, user, sign out), navigation of the allowed pages, the current page. */
export function Shell() {
  const app = useApp();
  const route = useRoute();
  const pages = PAGES.filter((p) => p.allowed(app.scopes, app.cfg));
  const heading = useRef<HTMLElement>(null);
  const who = app.userLabel;
  // A page also owns its sub-routes: `/users/ID` is the users page's business.
  const owns = (p: { path: string }) => p.path === route.path || (p.path !== '/' && route.path.startsWith(`${p.path}/`));
  const current = pages.find((p) => p.path === route.path) ?? pages.find(owns);
  const known = PAGES.some(owns);
  // Move focus to the page on navigation, so keyboard and screen reader users land on the new content.
  useEffect(() => { heading.current?.focus(); }, [route.path]);

  const top = (
    <header class="topbar">
      <span class="brand">Tessera Console <span class="muted">· {app.cfg.domain}</span></span>
      <span class="who">{who}</span>
      <button type="button" class="secondary" onClick={() => void app.signOut()}>Sign out</button>
    </header>
  );

  if (!app.scopes.isAdmin) {
    return (
      <div class="layout">
        {top}
        <main class="content" ref={heading} tabIndex={-1}>
          <h1>No administration rights</h1>
          <div class="banner error" role="alert">
            You are signed in as {who}, but your account holds no administrator role in the identity domain {app.cfg.domain}.
            Ask an Identity Domain Administrator to grant you one.
          </div>
        </main>
      </div>
    );
  }

  const Page = current?.component;
  return (
    <div class="layout">
      {top}
      <nav class="sidenav" aria-label="Console sections">
        <ul>
          {pages.map((p) => (
            <li key={p.path}><a href={href(p.path)} aria-current={p === current ? 'page' : undefined}>{p.title}</a></li>
          ))}
        </ul>
      </nav>
      <main class="content" ref={heading} tabIndex={-1}>
        {Page ? <Page route={route} /> : (
          <div>
            <h1>{known ? 'Not allowed' : 'Page not found'}</h1>
            <div class="banner error" role="alert">
              {known ? 'Your roles do not allow this page.' : 'There is no such page.'} <a href={href(pages[0]?.path ?? '/')}>Go to the overview</a>.
            </div>
          </div>
        )}
      </main>
    </div>
  );
}
