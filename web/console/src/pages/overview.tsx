import { useEffect, useState } from 'preact/hooks';
import { scimString, type Api, type ListResponse } from '../../../shared/api.js';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { href } from '../router.js';
import { ErrorBanner, HourlyChart, type Series } from '../ui/index.js';
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
      {scopes.can(SCOPES.auditRead) ? <SignInActivity /> : null}
    </section>
  );
}

const HOUR = 3_600_000;
const BUCKETS = 24;
const PAGE = 1000;
const SIGNIN_SERIES = [
  { key: 'succeeded', label: 'Sign-ins', eventId: 'user.login.succeeded', className: 'bar-ok' },
  { key: 'failed', label: 'Failed sign-ins', eventId: 'user.login.failed', className: 'bar-fail' },
] as const;

const range = (eventId: string, from: number, to: number) =>
  `eventId eq ${scimString(eventId)} and timestamp ge ${scimString(new Date(from).toISOString())} and timestamp lt ${scimString(new Date(to).toISOString())}`;

/**
 * Counts of one event per hour from the AuditEvents API: one page of timestamps when the day holds
 * at most PAGE events (the usual case), otherwise one count-only query (count=0) per hour.
 */
export async function hourlyCounts(api: Api, eventId: string, start: number, end: number): Promise<number[]> {
  const counts = new Array<number>(BUCKETS).fill(0);
  const r = await api.list<{ timestamp: string }>('AuditEvents', { filter: range(eventId, start, end), count: PAGE, attributes: 'timestamp' });
  if (r.totalResults <= PAGE) {
    for (const e of r.Resources ?? []) {
      const i = Math.floor((Date.parse(e.timestamp) - start) / HOUR);
      if (i >= 0 && i < BUCKETS) counts[i]! += 1;
    }
    return counts;
  }
  for (let i = 0; i < BUCKETS; i += 6) {
    const part = await Promise.all(Array.from({ length: 6 }, (_, k) => api.list('AuditEvents', { filter: range(eventId, start + (i + k) * HOUR, Math.min(end, start + (i + k + 1) * HOUR)), count: 0 })));
    part.forEach((x, k) => { counts[i + k] = x.totalResults; });
  }
  return counts;
}

/** Sign-ins and failed sign-ins of the last 24 hours, per hour (needs the audit scope). */
function SignInActivity() {
  const { api } = useApp();
  const [series, setSeries] = useState<Series[]>();
  const [hours, setHours] = useState<number[]>([]);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    const end = Date.now() + 1;
    const start = Math.floor(end / HOUR) * HOUR - (BUCKETS - 1) * HOUR;
    setHours(Array.from({ length: BUCKETS }, (_, i) => start + i * HOUR));
    Promise.all(SIGNIN_SERIES.map((s) => hourlyCounts(api, s.eventId, start, end))).then(
      (c) => { if (live) setSeries(SIGNIN_SERIES.map((s, i) => ({ key: s.key, label: s.label, className: s.className, counts: c[i]! }))); },
      (e: unknown) => { if (live) setError(e); },
    );
    return () => { live = false; };
  }, []);
  return (
    <section class="activity" aria-labelledby="activity-title" aria-busy={series ? undefined : 'true'}>
      <h2 id="activity-title">Sign-ins in the last 24 hours</h2>
      <ErrorBanner error={error} />
      {series ? <HourlyChart title="Sign-ins and failed sign-ins per hour" hours={hours} series={series} /> : error ? null : <p class="muted">Loading…</p>}
    </section>
  );
}

export const overviewPage: PageDef = { path: '/', title: 'Overview', allowed: (s) => s.isAdmin, component: Overview };
