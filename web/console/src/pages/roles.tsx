import { useEffect, useState } from 'preact/hooks';
import { scimString, type ListResponse } from '../../../shared/api.js';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { href, navigate, type Route } from '../router.js';
import { Checks, ConfirmDialog, DataTable, ErrorBanner, Field, InfoBanner, SearchBox, SelectField, type Column } from '../ui/index.js';
import type { PageDef } from './types.js';

/**
 * App roles and grants: the roles (`#/roles`), one role with its members (`#/roles/ID`), granting it to a
 * user, a group or an app, revoking a grant. Through /admin/v1/AppRoles and /admin/v1/Grants.
 */
const ROLE_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:AppRole';
const GRANT_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';
const MECHANISM = { User: 'ADMINISTRATOR_TO_USER', Group: 'ADMINISTRATOR_TO_GROUP', App: 'ADMINISTRATOR_TO_APP' } as const;
type GranteeType = keyof typeof MECHANISM;
const PAGE_SIZE = 20;

interface Role {
  id: string;
  displayName: string;
  description?: string;
  isBuiltIn?: boolean;
  app: { value: string; display?: string };
  scopes?: { value: string }[];
  members?: { value: string; type: string; display?: string }[];
}
interface Grant { id: string; grantee: { value: string; type: GranteeType; display?: string }; app: { value: string } }
interface ResourceApp { id: string; displayName: string; isBuiltIn?: boolean; scopes?: { value: string; description?: string }[] }
interface Candidate { id: string; label: string; sub?: string }

const scopeList = (r: Role) => (r.scopes ?? []).map((s) => s.value).join(', ');

const columns: Column<Role>[] = [
  { header: 'Role', cell: (r) => <a href={href(`/roles/${r.id}`)}>{r.displayName}</a> },
  { header: 'App', cell: (r) => r.app.display ?? r.app.value },
  { header: 'Scopes', cell: (r) => scopeList(r) },
  { header: 'Members', cell: (r) => String(r.members?.length ?? 0) },
];

function NewRole({ onCreated }: { onCreated(id: string): void }) {
  const { api } = useApp();
  const [apps, setApps] = useState<ResourceApp[]>([]);
  const [appId, setAppId] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.list<ResourceApp>('Apps', { filter: 'isOAuthResource eq true', attributes: 'displayName,isBuiltIn,scopes', sortBy: 'displayName', count: 200 }).then((r) => {
      const list = r.Resources ?? [];
      setApps(list);
      setAppId((list.find((a) => !a.isBuiltIn) ?? list[0])?.id ?? '');
    }, setError);
  }, []);
  const app = apps.find((a) => a.id === appId);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const r = await api.post<Role>('AppRoles', {
        schemas: [ROLE_SCHEMA], displayName: name.trim(), ...(description.trim() ? { description: description.trim() } : {}),
        app: { value: appId }, scopes: chosen.map((value) => ({ value })),
      });
      onCreated(r.id);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <form class="panel" aria-labelledby="new-role-title" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
      <h2 id="new-role-title">New app role</h2>
      <SelectField label="Resource server" name="app" value={appId} onChange={(v) => { setAppId(v); setChosen([]); }}
        options={apps.map((a) => ({ value: a.id, label: a.displayName }))} hint="The app whose scopes the role carries." />
      <Field label="Role name" name="roleName" required value={name} onInput={setName} />
      <Field label="Description" name="roleDescription" value={description} onInput={setDescription} />
      <Checks legend="Scopes the role carries" name="roleScopes" options={(app?.scopes ?? []).map((s) => ({ value: s.value, label: s.description ? `${s.value} — ${s.description}` : s.value }))}
        selected={chosen} onChange={setChosen} empty="This app defines no scopes." />
      <ErrorBanner error={error} />
      <div class="actions"><button type="submit" disabled={busy || !appId}>Create role</button></div>
    </form>
  );
}

function RoleList({ route }: { route: Route }) {
  const { api } = useApp();
  const q = route.query.get('q') ?? '';
  const start = Math.max(1, Number(route.query.get('start')) || 1);
  const [data, setData] = useState<ListResponse<Role>>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(undefined);
    api.list<Role>('AppRoles', {
      filter: q ? `displayName co ${scimString(q)}` : undefined, startIndex: start, count: PAGE_SIZE, sortBy: 'displayName',
      attributes: 'displayName,app,scopes,isBuiltIn,members',
    }).then((r) => { if (live) setData(r); }, (e: unknown) => { if (live) setError(e); })
      .finally(() => { if (live) setLoading(false); });
    return () => { live = false; };
  }, [q, start]);
  return (
    <section aria-labelledby="roles-title">
      <h1 id="roles-title">App roles</h1>
      <div class="toolbar">
        <button type="button" aria-expanded={creating ? 'true' : 'false'} onClick={() => setCreating((c) => !c)}>{creating ? 'Close the new role form' : 'New role'}</button>
      </div>
      {creating ? <NewRole onCreated={(id) => navigate(`/roles/${id}`)} /> : null}
      <SearchBox label="Search roles by name" initial={q} onSearch={(v) => navigate('/roles', { q: v })} />
      <ErrorBanner error={error} />
      <DataTable caption="App roles" columns={columns} rows={data?.Resources ?? (data ? [] : undefined)} rowKey={(r) => r.id}
        startIndex={start} pageSize={PAGE_SIZE} total={data?.totalResults ?? 0} loading={loading}
        onPage={(s) => navigate('/roles', { q, start: String(s) })} empty={q ? 'No role matches the search.' : 'No app roles yet.'} />
    </section>
  );
}

/** Search users, groups or apps by name, for a grant. */
function GrantForm({ role, onGranted }: { role: Role; onGranted(): void }) {
  const { api, scopes } = useApp();
  const types: GranteeType[] = [
    ...(scopes.can(SCOPES.users, SCOPES.usersRead) ? ['User' as const] : []),
    ...(scopes.can(SCOPES.groups, SCOPES.groupsRead) ? ['Group' as const] : []),
    'App',
  ];
  const [type, setType] = useState<GranteeType>(types[0]!);
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Candidate[]>();
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const search = async () => {
    setError(undefined);
    setDone('');
    const v = scimString(q.trim());
    try {
      if (type === 'User') {
        const r = await api.list<{ id: string; userName: string; displayName?: string }>('Users', {
          filter: q.trim() ? `userName co ${v} or displayName co ${v} or name.familyName co ${v} or emails.value co ${v}` : undefined, count: 20, attributes: 'userName,displayName', sortBy: 'userName',
        });
        setFound((r.Resources ?? []).map((u) => ({ id: u.id, label: u.userName, sub: u.displayName })));
      } else if (type === 'Group') {
        const r = await api.list<{ id: string; displayName: string }>('Groups', { filter: q.trim() ? `displayName co ${v}` : undefined, count: 20, attributes: 'displayName', sortBy: 'displayName' });
        setFound((r.Resources ?? []).map((g) => ({ id: g.id, label: g.displayName })));
      } else {
        const r = await api.list<{ id: string; displayName: string; name?: string }>('Apps', { filter: q.trim() ? `displayName co ${v}` : undefined, count: 20, attributes: 'displayName,name', sortBy: 'displayName' });
        setFound((r.Resources ?? []).map((a) => ({ id: a.id, label: a.displayName, sub: a.name })));
      }
    } catch (e) { setError(e); }
  };
  const grant = async (c: Candidate) => {
    setError(undefined);
    try {
      await api.post('Grants', {
        schemas: [GRANT_SCHEMA], app: { value: role.app.value }, entitlement: { attributeName: 'appRoles', attributeValue: role.id },
        grantMechanism: MECHANISM[type], grantee: { value: c.id, type },
      });
      setDone(`${role.displayName} was granted to ${c.label}.`);
      onGranted();
    } catch (e) { setError(e); }
  };
  return (
    <div class="panel" role="group" aria-labelledby="grant-title">
      <h2 id="grant-title">Grant this role</h2>
      <form class="search" role="search" onSubmit={(e) => { e.preventDefault(); void search(); }}>
        <SelectField label="To a" name="granteeType" value={type} onChange={(v) => { setType(v as GranteeType); setFound(undefined); }}
          options={types.map((t) => ({ value: t, label: t === 'User' ? 'User' : t === 'Group' ? 'Group' : 'App' }))} />
        <Field label="Name" name="granteeQuery" type="search" value={q} onInput={setQ} />
        <div class="field"><button type="submit">Find</button></div>
      </form>
      {types.length < 3 ? <p class="hint">Your roles do not allow reading {types.includes('User') ? 'groups' : types.includes('Group') ? 'users' : 'users or groups'}, so only these can be searched.</p> : null}
      <ErrorBanner error={error} />
      {done ? <InfoBanner kind="ok">{done}</InfoBanner> : null}
      {found ? (found.length === 0 ? <p class="muted">Nothing found.</p> : (
        <ul class="plain candidates" aria-label="Search results">
          {found.map((c) => (
            <li key={c.id}>
              <span>{c.label}{c.sub ? <span class="muted"> · {c.sub}</span> : null}</span>
              <button type="button" class="secondary" onClick={() => void grant(c)} aria-label={`Grant ${role.displayName} to ${c.label}`}>Grant</button>
            </li>
          ))}
        </ul>
      )) : null}
    </div>
  );
}

function RoleDetail({ id }: { id: string }) {
  const { api } = useApp();
  const [role, setRole] = useState<Role>();
  const [grants, setGrants] = useState<Grant[]>();
  const [error, setError] = useState<unknown>();
  const [loadError, setLoadError] = useState<unknown>();
  const [tick, setTick] = useState(0);
  const [revoking, setRevoking] = useState<Grant>();
  useEffect(() => {
    let live = true;
    api.get<Role>(`AppRoles/${encodeURIComponent(id)}`).then((r) => { if (live) setRole(r); }, (e: unknown) => { if (live) setLoadError(e); });
    api.list<Grant>('Grants', { filter: `entitlement.attributeValue eq ${scimString(id)}`, count: 500 })
      .then((r) => { if (live) setGrants(r.Resources ?? []); }, (e: unknown) => { if (live) setError(e); });
    return () => { live = false; };
  }, [id, tick]);
  if (loadError) return <section><h1>App role</h1><ErrorBanner error={loadError} /><p><a href={href('/roles')}>Back to the roles</a></p></section>;
  if (!role) return <section><h1>App role</h1><p aria-live="polite">Loading…</p></section>;
  const revoke = async (g: Grant) => {
    setRevoking(undefined);
    setError(undefined);
    try { await api.del(`Grants/${g.id}`); setTick((t) => t + 1); } catch (e) { setError(e); }
  };
  return (
    <section aria-labelledby="role-title">
      <p><a href={href('/roles')}>← App roles</a></p>
      <h1 id="role-title">{role.displayName}</h1>
      <p class="muted">Role of <a href={href(`/apps/${role.app.value}`)}>{role.app.display ?? role.app.value}</a>{role.isBuiltIn ? <span class="tag">Built-in</span> : null}</p>
      {role.description ? <p>{role.description}</p> : null}
      <h2>Scopes it carries</h2>
      {(role.scopes ?? []).length ? <ul class="plain">{role.scopes!.map((s) => <li key={s.value}><code>{s.value}</code></li>)}</ul> : <p class="muted">None.</p>}
      <h2>Members</h2>
      <ErrorBanner error={error} />
      {grants === undefined ? <p aria-live="polite">Loading…</p> : grants.length === 0 ? <p class="muted">Nobody holds this role.</p> : (
        <div class="table-wrap">
          <table data-table="members">
            <caption class="visually-hidden">Members of {role.displayName}</caption>
            <thead><tr><th scope="col">Member</th><th scope="col">Type</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {grants.map((g) => (
                <tr key={g.id} data-grant={g.id}>
                  <td>{g.grantee.display ?? g.grantee.value}</td>
                  <td>{g.grantee.type}</td>
                  <td><button type="button" class="secondary" onClick={() => setRevoking(g)} aria-label={`Revoke from ${g.grantee.display ?? g.grantee.value}`}>Revoke</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <GrantForm role={role} onGranted={() => setTick((t) => t + 1)} />
      <ConfirmDialog open={revoking !== undefined} title="Revoke the grant?" danger confirmLabel="Revoke"
        message={`${revoking?.grantee.display ?? ''} loses ${role.displayName} and its scopes on the next token.`}
        onConfirm={() => { if (revoking) void revoke(revoking); }} onCancel={() => setRevoking(undefined)} />
    </section>
  );
}

function Roles({ route }: { route: Route }) {
  const rest = route.path.replace(/^\/roles\/?/, '');
  return rest === '' ? <RoleList route={route} /> : <RoleDetail key={rest} id={decodeURIComponent(rest)} />;
}

export const rolesPage: PageDef = { path: '/roles', title: 'App roles', allowed: (s) => s.can(SCOPES.apps), component: Roles };
