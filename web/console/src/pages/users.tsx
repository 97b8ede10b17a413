import { useEffect, useState } from 'preact/hooks';
import { scimString, type ListResponse } from '../../../shared/api.js';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { href, navigate, type Route } from '../router.js';
import { CheckField, DataTable, ErrorBanner, Field, SearchBox, type Column } from '../ui/index.js';
import type { PageDef } from './types.js';
import { UserDetail } from './user_detail.js';
import type { User } from '../resources.js';

const PAGE_SIZE = 20;
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';

export const userLabel = (u: User): string => u.displayName ?? u.name?.formatted ?? [u.name?.givenName, u.name?.familyName].filter(Boolean).join(' ');
export const userEmail = (u: User): string => (u.emails?.find((e) => e.primary) ?? u.emails?.[0])?.value ?? '';

const columns: Column<User>[] = [
  { header: 'User name', cell: (u) => <a href={href(`/users/${u.id}`)}>{u.userName}</a> },
  { header: 'Name', cell: userLabel },
  { header: 'Email', cell: userEmail },
  { header: 'Status', cell: (u) => (u.active === false ? 'Disabled' : 'Active') },
];

/** The SCIM filter for a search box entry: userName or any email contains it. */
export function userFilter(q: string): string | undefined {
  return q ? `userName co ${scimString(q)} or emails.value co ${scimString(q)}` : undefined;
}

/** Create a user: userName, name, email, an optional password (the domain's policy applies), active. */
function CreateUser({ onCancel }: { onCancel(): void }) {
  const { api } = useApp();
  const [f, setF] = useState({ userName: '', givenName: '', familyName: '', email: '', password: '', active: true });
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (v: string | boolean) => setF((o) => ({ ...o, [k]: v }));
  const submit = async () => {
    setBusy(true); setError(undefined);
    try {
      const name = f.givenName || f.familyName ? { name: { ...(f.givenName ? { givenName: f.givenName } : {}), ...(f.familyName ? { familyName: f.familyName } : {}) } } : {};
      const display = [f.givenName, f.familyName].filter(Boolean).join(' ');
      const u = await api.post<User>('Users', {
        schemas: [USER_SCHEMA], userName: f.userName.trim(), active: f.active, ...name,
        ...(display ? { displayName: display } : {}),
        ...(f.email ? { emails: [{ value: f.email.trim(), primary: true, type: 'work' }] } : {}),
        ...(f.password ? { password: f.password } : {}),
      });
      navigate(`/users/${u.id}`);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <form class="panel" aria-labelledby="create-user-title" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
      <h2 id="create-user-title">New user</h2>
      <ErrorBanner error={error} />
      <Field label="User name" name="userName" value={f.userName} onInput={set('userName')} required autoComplete="off" />
      <Field label="Given name" name="givenName" value={f.givenName} onInput={set('givenName')} />
      <Field label="Family name" name="familyName" value={f.familyName} onInput={set('familyName')} />
      <Field label="Email" name="email" type="email" value={f.email} onInput={set('email')} />
      <Field label="Password" name="password" type="password" value={f.password} onInput={set('password')} autoComplete="new-password"
        hint="Optional. Without one, the user cannot sign in with a password until one is set." />
      <CheckField label="Active (may sign in)" name="active" checked={f.active} onChange={set('active')} />
      <div class="actions">
        <button type="button" class="secondary" onClick={onCancel}>Cancel</button>
        <button type="submit" disabled={busy || !f.userName.trim()}>Create user</button>
      </div>
    </form>
  );
}

function UserList({ route }: { route: Route }) {
  const { api, scopes } = useApp();
  const q = route.query.get('q') ?? '';
  const start = Math.max(1, Number(route.query.get('start')) || 1);
  const creating = route.query.get('new') === '1';
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
      <div class="page-head">
        <h1 id="users-title">Users</h1>
        {scopes.can(SCOPES.users) && !creating ? <button type="button" onClick={() => navigate('/users', { q, new: '1' })}>New user</button> : null}
      </div>
      {creating && scopes.can(SCOPES.users) ? <CreateUser onCancel={() => navigate('/users', { q })} /> : null}
      <SearchBox label="Search by user name or email" initial={q} onSearch={(v) => navigate('/users', { q: v })} />
      <ErrorBanner error={error} />
      <DataTable caption="Users" columns={columns} rows={data?.Resources ?? (data ? [] : undefined)} rowKey={(u) => u.id}
        startIndex={start} pageSize={PAGE_SIZE} total={data?.totalResults ?? 0} loading={loading}
        onPage={(s) => navigate('/users', { q, start: String(s) })} empty={q ? 'No user matches the search.' : 'No users yet.'} />
    </section>
  );
}

function Users({ route }: { route: Route }) {
  const id = route.path.startsWith('/users/') ? decodeURIComponent(route.path.slice('/users/'.length)) : '';
  return id ? <UserDetail id={id} /> : <UserList route={route} />;
}

export const usersPage: PageDef = { path: '/users', title: 'Users', allowed: (s) => s.can(SCOPES.users, SCOPES.usersRead), component: Users };
