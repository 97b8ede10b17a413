import { useEffect, useState } from 'preact/hooks';
import { scimString, type ListResponse } from '../../../shared/api.js';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { href, navigate, type Route } from '../router.js';
import { DataTable, ErrorBanner, Field, InputField, SelectField, type Column } from '../ui/index.js';
import type { PageDef } from './types.js';

export interface AuditEvent {
  id: string;
  eventId: string;
  timestamp: string;
  outcome?: string;
  actorType?: string;
  actorId?: string;
  actorName?: string;
  clientIp?: string;
  targetType?: string;
  targetId?: string;
  message?: string;
  details?: string;
}

const PAGE_SIZE = 25;
const FILTER_KEYS = ['eventId', 'actor', 'outcome', 'from', 'to'] as const;
type Filters = Record<(typeof FILTER_KEYS)[number], string>;

/** datetime-local (the browser's local time) <-> an RFC 3339 instant for the SCIM filter. */
const toInstant = (local: string): string | undefined => {
  const t = Date.parse(local);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
};

/** The SCIM filter the AuditEvents API serves: eq on eventId, actorId, outcome; ge/le on timestamp; joined with and. */
export function auditFilter(f: Filters): string | undefined {
  const terms: string[] = [];
  if (f.eventId) terms.push(`eventId eq ${scimString(f.eventId)}`);
  if (f.actor) terms.push(`actorId eq ${scimString(f.actor)}`);
  if (f.outcome) terms.push(`outcome eq ${scimString(f.outcome)}`);
  const from = f.from ? toInstant(f.from) : undefined;
  const to = f.to ? toInstant(f.to) : undefined;
  if (from) terms.push(`timestamp ge ${scimString(from)}`);
  if (to) terms.push(`timestamp le ${scimString(to)}`);
  return terms.length ? terms.join(' and ') : undefined;
}

const when = (iso: string) => new Date(iso).toLocaleString();

function Detail({ id, back }: { id: string; back: string }) {
  const { api } = useApp();
  const [e, setE] = useState<AuditEvent>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    setE(undefined); setError(undefined);
    api.get<AuditEvent>(`AuditEvents/${encodeURIComponent(id)}`).then((x) => { if (live) setE(x); }, (x: unknown) => { if (live) setError(x); });
    return () => { live = false; };
  }, [id]);
  let details: string | undefined = e?.details;
  try { if (details) details = JSON.stringify(JSON.parse(details), null, 2); } catch { /* shown as it is */ }
  const rows: [string, string | undefined][] = e ? [
    ['Event', e.eventId], ['Time', `${when(e.timestamp)} (${e.timestamp})`], ['Outcome', e.outcome], ['Actor type', e.actorType],
    ['Actor id', e.actorId], ['Actor name', e.actorName], ['Client IP', e.clientIp], ['Target type', e.targetType], ['Target id', e.targetId],
    ['Message', e.message], ['Event id', e.id],
  ] : [];
  return (
    <div class="detail" aria-labelledby="audit-detail-title">
      <h2 id="audit-detail-title">Event detail</h2>
      <p><a href={back}>Back to the list</a></p>
      <ErrorBanner error={error} />
      {e ? (
        <>
          <dl class="props">
            {rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => <div key={k}><dt>{k}</dt><dd data-prop={k}>{v}</dd></div>)}
          </dl>
          {details ? <><h3>Details</h3><pre class="json" tabIndex={0} aria-label="Event details (JSON)">{details}</pre></> : null}
        </>
      ) : error ? null : <p class="muted">Loading…</p>}
    </div>
  );
}

function Audit({ route }: { route: Route }) {
  const { api } = useApp();
  const applied = Object.fromEntries(FILTER_KEYS.map((k) => [k, route.query.get(k) ?? ''])) as Filters;
  const start = Math.max(1, Number(route.query.get('start')) || 1);
  const detail = route.query.get('id');
  const [form, setForm] = useState<Filters>(applied);
  const [data, setData] = useState<ListResponse<AuditEvent>>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  const key = FILTER_KEYS.map((k) => applied[k]).join('\u0000');
  useEffect(() => { setForm(applied); }, [key]);
  useEffect(() => {
    if (detail) return;
    let live = true;
    setLoading(true); setError(undefined);
    api.list<AuditEvent>('AuditEvents', { filter: auditFilter(applied), startIndex: start, count: PAGE_SIZE, sortBy: 'timestamp', sortOrder: 'descending' })
      .then((r) => { if (live) setData(r); }, (e: unknown) => { if (live) setError(e); })
      .finally(() => { if (live) setLoading(false); });
    return () => { live = false; };
  }, [key, start, detail]);
  const query = (extra: Record<string, string> = {}) => ({ ...applied, ...(start > 1 ? { start: String(start) } : {}), ...extra });
  const columns: Column<AuditEvent>[] = [
    { header: 'Time', cell: (e) => <time dateTime={e.timestamp}>{when(e.timestamp)}</time> },
    { header: 'Event', cell: (e) => <a href={href('/audit', query({ id: e.id }))}>{e.eventId}</a> },
    { header: 'Outcome', cell: (e) => <span class={e.outcome === 'failure' ? 'tag fail' : 'tag'}>{e.outcome ?? ''}</span> },
    { header: 'Actor', cell: (e) => e.actorName ?? e.actorId ?? e.actorType ?? '' },
    { header: 'Target', cell: (e) => [e.targetType, e.targetId].filter(Boolean).join(' ') },
    { header: 'Message', cell: (e) => e.message ?? '' },
  ];
  const set = (k: keyof Filters) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit events</h1>
      {detail ? <Detail id={detail} back={href('/audit', { ...applied, ...(start > 1 ? { start: String(start) } : {}) })} /> : (
        <>
          <form class="filters" aria-label="Filter audit events" onSubmit={(e) => { e.preventDefault(); navigate('/audit', Object.fromEntries(FILTER_KEYS.map((k) => [k, form[k].trim()]))); }}>
            <Field label="Event id" name="eventId" value={form.eventId} onInput={set('eventId')} hint="Exact, e.g. user.login.failed" />
            <Field label="Actor id" name="actor" value={form.actor} onInput={set('actor')} hint="The user or client id, exact" />
            <SelectField label="Outcome" name="outcome" value={form.outcome} onChange={set('outcome')}
              options={[{ value: '', label: 'Any' }, { value: 'success', label: 'Success' }, { value: 'failure', label: 'Failure' }]} />
            <InputField label="From" name="from" type="datetime-local" value={form.from} onInput={set('from')} />
            <InputField label="To" name="to" type="datetime-local" value={form.to} onInput={set('to')} />
            <div class="actions start">
              <button type="submit">Apply filter</button>
              <button type="button" class="secondary" onClick={() => navigate('/audit')}>Clear</button>
            </div>
          </form>
          <ErrorBanner error={error} />
          <DataTable caption="Audit events, newest first" columns={columns} rows={data?.Resources ?? (data ? [] : undefined)} rowKey={(e) => e.id}
            startIndex={start} pageSize={PAGE_SIZE} total={data?.totalResults ?? 0} loading={loading}
            onPage={(s) => navigate('/audit', { ...applied, start: String(s) })} empty="No event matches the filter." />
        </>
      )}
    </section>
  );
}

export const auditPage: PageDef = { path: '/audit', title: 'Audit events', allowed: (s) => s.can(SCOPES.auditRead), component: Audit };
