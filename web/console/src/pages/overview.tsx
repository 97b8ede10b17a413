import { useEffect, useState } from 'preact/hooks';
import type { ListResponse } from '../../../shared/api.js';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { href } from '../router.js';
import { ErrorBanner } from '../ui/index.js';
import type { PageDef } from './types.js';

interface Counter { key: string; label: string; resource: string; scopes: string[]; link?: string }
const COUNTERS: Counter[] = [
  { key: 'users', label: 'Users', resource: 'Users', scopes: [SCOPES.users, SCOPES.usersRead], link: '/users' },
  { key: 'groups', label: 'Groups', resource: 'Groups', scopes: [SCOPES.groups, SCOPES.groupsRead] },
  { key: 'apps', label: 'Apps', resource: 'Apps', scopes: [SCOPES.apps] },
];

function Overview() {
  const { api, scopes, cfg } = useApp();
  const shown = COUNTERS.filter((c) => scopes.can(...c.scopes));
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    // count=0: totalResults only (RFC 7644 §3.4.2.4).
    for (const c of shown) {
      api.list<ListResponse<unknown>>(c.resource, { count: 0 }).then(
        (r) => { if (live) setCounts((m) => ({ ...m, [c.key]: r.totalResults })); },
        (e: unknown) => { if (live) setError(e); },
      );
    }
    return () => { live = false; };
  }, []);
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview of {cfg.domain}</h1>
      <ErrorBanner error={error} />
      <div class="cards">
        {shown.map((c) => (
          <div class="card" key={c.key} data-count={c.key}>
            <div class="count" aria-live="polite">{counts[c.key] ?? '…'}</div>
            <div class="label">{c.link ? <a href={href(c.link)}>{c.label}</a> : c.label}</div>
          </div>
        ))}
      </div>
    </section>
  );
}

export const overviewPage: PageDef = { path: '/', title: 'Overview', allowed: (s) => s.isAdmin, component: Overview };
