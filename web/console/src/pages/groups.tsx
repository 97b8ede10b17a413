import { useEffect, useState } from 'preact/hooks';
import { scimString, type ListResponse } from '../../../shared/api.js';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { href, navigate, type Route } from '../router.js';
import { DataTable, ErrorBanner, Field, SearchBox, type Column } from '../ui/index.js';
import { GroupDetail } from './group_detail.js';
import type { PageDef } from './types.js';
import type { Group } from '../resources.js';

const PAGE_SIZE = 20;
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const columns: Column<Group>[] = [
  { header: 'Name', cell: (g) => <a href={href(`/groups/${g.id}`)}>{g.displayName}</a> },
  { header: 'Description', cell: (g) => g.description ?? '' },
];

export const groupFilter = (q: string): string | undefined => (q ? `displayName co ${scimString(q)}` : undefined);

function CreateGroup({ onCancel }: { onCancel(): void }) {
  const { api } = useApp();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true); setError(undefined);
    try {
      const g = await api.post<Group>('Groups', { schemas: [GROUP_SCHEMA], displayName: name.trim(), ...(description.trim() ? { description: description.trim() } : {}) });
      navigate(`/groups/${g.id}`);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <form class="panel" aria-labelledby="create-group-title" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
      <h2 id="create-group-title">New group</h2>
      <ErrorBanner error={error} />
      <Field label="Name" name="displayName" value={name} onInput={setName} required />
      <Field label="Description" name="description" value={description} onInput={setDescription} />
      <div class="actions">
        <button type="button" class="secondary" onClick={onCancel}>Cancel</button>
        <button type="submit" disabled={busy || !name.trim()}>Create group</button>
      </div>
    </form>
  );
}

function GroupList({ route }: { route: Route }) {
  const { api, scopes } = useApp();
  const q = route.query.get('q') ?? '';
  const start = Math.max(1, Number(route.query.get('start')) || 1);
  const creating = route.query.get('new') === '1';
  const [data, setData] = useState<ListResponse<Group>>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(undefined);
    api.list<Group>('Groups', { filter: groupFilter(q), startIndex: start, count: PAGE_SIZE, sortBy: 'displayName', attributes: 'displayName,description' })
      .then((r) => { if (live) setData(r); }, (e: unknown) => { if (live) setError(e); })
      .finally(() => { if (live) setLoading(false); });
    return () => { live = false; };
  }, [q, start]);
  return (
    <section aria-labelledby="groups-title">
      <div class="page-head">
        <h1 id="groups-title">Groups</h1>
        {scopes.can(SCOPES.groups) && !creating ? <button type="button" onClick={() => navigate('/groups', { q, new: '1' })}>New group</button> : null}
      </div>
      {creating && scopes.can(SCOPES.groups) ? <CreateGroup onCancel={() => navigate('/groups', { q })} /> : null}
      <SearchBox label="Search groups by name" initial={q} onSearch={(v) => navigate('/groups', { q: v })} />
      <ErrorBanner error={error} />
      <DataTable caption="Groups" columns={columns} rows={data?.Resources ?? (data ? [] : undefined)} rowKey={(g) => g.id}
        startIndex={start} pageSize={PAGE_SIZE} total={data?.totalResults ?? 0} loading={loading}
        onPage={(s) => navigate('/groups', { q, start: String(s) })} empty={q ? 'No group matches the search.' : 'No groups yet.'} />
    </section>
  );
}

function Groups({ route }: { route: Route }) {
  const id = route.path.startsWith('/groups/') ? decodeURIComponent(route.path.slice('/groups/'.length)) : '';
  return id ? <GroupDetail id={id} /> : <GroupList route={route} />;
}

export const groupsPage: PageDef = { path: '/groups', title: 'Groups', allowed: (s) => s.can(SCOPES.groups, SCOPES.groupsRead), component: Groups };
