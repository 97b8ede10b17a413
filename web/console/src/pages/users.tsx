import { useEffect, useState } from 'preact/hooks';
import { scimString, type ListResponse } from '../../../shared/api.js';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { navigate, type Route } from '../router.js';
import { DataTable, ErrorBanner, SearchBox, type Column } from '../ui/index.js';
import type { PageDef } from './types.js';

interface User {
  id: string;
  userName: string;
  displayName?: string;
  name?: { formatted?: string; givenName?: string; familyName?: string };
  emails?: { value: string; primary?: boolean }[];
  active?: boolean;
}

const PAGE_SIZE = 20;

const columns: Column<User>[] = [
  { header: 'User name', cell: (u) => u.userName },
  { header: 'Name', cell: (u) => u.displayName ?? u.name?.formatted ?? [u.name?.givenName, u.name?.familyName].filter(Boolean).join(' ') },
  { header: 'Email', cell: (u) => (u.emails?.find((e) => e.primary) ?? u.emails?.[0])?.value ?? '' },
  { header: 'Status', cell: (u) => (u.active === false ? 'Disabled' : 'Active') },
];

/** The SCIM filter for a search box entry: userName or any email contains it. */
export function userFilter(q: string): string | undefined {
  return q ? `userName co ${scimString(q)} or emails.value co ${scimString(q)}` : undefined;
}

function Users({ route }: { route: Route }) {
  const { api } = useApp();
  const q = route.query.get('q') ?? '';
  const start = Math.max(1, Number(route.query.get('start')) || 1);
  const [data, setData] = useState<ListResponse<User>>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(undefined);
    api.list<User>('Users', { filter: userFilter(q), startIndex: start, count: PAGE_SIZE, sortBy: 'userName', attributes: 'userName,displayName,name,emails,active' })
      .then((r) => { if (live) setData(r); }, (e: unknown) => { if (live) setError(e); })
      .finally(() => { if (live) setLoading(false); });
    return () => { live = false; };
  }, [q, start]);
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <SearchBox label="Search by user name or email" initial={q} onSearch={(v) => navigate('/users', { q: v })} />
      <ErrorBanner error={error} />
      <DataTable caption="Users" columns={columns} rows={data?.Resources ?? (data ? [] : undefined)} rowKey={(u) => u.id}
        startIndex={start} pageSize={PAGE_SIZE} total={data?.totalResults ?? 0} loading={loading}
        onPage={(s) => navigate('/users', { q, start: String(s) })} empty={q ? 'No user matches the search.' : 'No users yet.'} />
    </section>
  );
}

export const usersPage: PageDef = { path: '/users', title: 'Users', allowed: (s) => s.can(SCOPES.users, SCOPES.usersRead), component: Users };
