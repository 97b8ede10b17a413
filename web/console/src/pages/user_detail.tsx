import { useEffect, useState } from 'preact/hooks';
import { SCIM_PATCH, type ListResponse } from '../../../shared/api.js';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { href, navigate } from '../router.js';
import { ErrorBanner, Field, GrantsPanel, InfoBanner, PrincipalPicker, useConfirm, type Ask } from '../ui/index.js';
import type { User } from '../resources.js';

interface Session { id: string; authTime?: string; expiresAt?: string; amr?: string[]; userAgent?: string; clientIp?: string }
interface Consent { id: string; clientId: string; scopes?: string[] }

/** busy / error / done message of one section's actions. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const run = async (f: () => Promise<unknown>, message: string): Promise<boolean> => {
    setBusy(true); setError(undefined); setDone('');
    try { await f(); setDone(message); return true; } catch (e) { setError(e); return false; } finally { setBusy(false); }
  };
  const banners = <>{error !== undefined ? <ErrorBanner error={error} /> : null}{done ? <InfoBanner kind="ok">{done}</InfoBanner> : null}</>;
  return { busy, run, banners, setError };
}

const when = (iso?: string) => (iso ? new Date(iso).toLocaleString() : '');

function Profile({ user, canWrite, reload }: { user: User; canWrite: boolean; reload(): Promise<void> }) {
  const { api } = useApp();
  const email0 = (user.emails?.find((e) => e.primary) ?? user.emails?.[0])?.value ?? '';
  const [f, setF] = useState({ displayName: user.displayName ?? '', givenName: user.name?.givenName ?? '', familyName: user.name?.familyName ?? '', email: email0 });
  const a = useAction();
  const set = (k: keyof typeof f) => (v: string) => setF((o) => ({ ...o, [k]: v }));
  const save = () => {
    const value: Record<string, unknown> = {};
    const ops: Record<string, unknown>[] = [];
    if (f.displayName.trim()) value.displayName = f.displayName.trim(); else if (user.displayName !== undefined) ops.push({ op: 'remove', path: 'displayName' });
    const name = { ...(f.givenName.trim() ? { givenName: f.givenName.trim() } : {}), ...(f.familyName.trim() ? { familyName: f.familyName.trim() } : {}) };
    if (Object.keys(name).length) value.name = name; else if (user.name !== undefined) ops.push({ op: 'remove', path: 'name' });
    if (f.email.trim()) value.emails = [{ value: f.email.trim(), primary: true, type: 'work' }]; else if (user.emails !== undefined) ops.push({ op: 'remove', path: 'emails' });
    if (Object.keys(value).length) ops.unshift({ op: 'replace', value });
    void a.run(async () => { await api.patch(`Users/${user.id}`, { schemas: [SCIM_PATCH], Operations: ops }); await reload(); }, 'The profile was saved.');
  };
  return (
    <form class="panel" aria-labelledby="profile-title" onSubmit={(e) => { e.preventDefault(); save(); }}>
      <h2 id="profile-title">Profile</h2>
      {a.banners}
      <Field label="Display name" name="displayName" value={f.displayName} onInput={set('displayName')} disabled={!canWrite} />
      <Field label="Given name" name="givenName" value={f.givenName} onInput={set('givenName')} disabled={!canWrite} />
      <Field label="Family name" name="familyName" value={f.familyName} onInput={set('familyName')} disabled={!canWrite} />
      <Field label="Email" name="email" type="email" value={f.email} onInput={set('email')} disabled={!canWrite} />
      {canWrite ? <div class="actions"><button type="submit" disabled={a.busy}>Save profile</button></div> : null}
    </form>
  );
}

function Account({ user, reload, ask }: { user: User; reload(): Promise<void>; ask: Ask }) {
  const { api } = useApp();
  const a = useAction();
  const active = user.active !== false;
  const setActive = (on: boolean) => void a.run(async () => {
    await api.patch(`Users/${user.id}`, { schemas: [SCIM_PATCH], Operations: [{ op: 'replace', path: 'active', value: on }] });
    await reload();
  }, on ? 'The user was activated.' : 'The user was deactivated: they cannot sign in.');
  return (
    <section class="panel" aria-labelledby="account-title">
      <h2 id="account-title">Account</h2>
      {a.banners}
      <div class="button-row">
        {active ? <button type="button" class="secondary" disabled={a.busy} onClick={() => setActive(false)}>Deactivate</button>
          : <button type="button" disabled={a.busy} onClick={() => setActive(true)}>Activate</button>}
        <button type="button" class="secondary" disabled={a.busy}
          onClick={() => void a.run(() => api.put(`UserLockedStateChanger/${user.id}`, { schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:UserLockedStateChanger'], locked: { on: false } }), 'The account was unlocked.')}>Unlock</button>
        <button type="button" class="secondary" disabled={a.busy}
          onClick={() => ask({ title: 'Reset MFA?', confirmLabel: 'Reset MFA', message: `${user.userName}'s second factors and recovery codes are removed; they enrol again at the next sign-in.`,
            run: () => void a.run(async () => {
              const r = await api.post<{ removed?: number }>('AuthenticationFactorsRemover', { schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:AuthenticationFactorsRemover'], user: { value: user.id } });
              return r;
            }, 'The second factors were removed.') })}>Reset MFA</button>
        <button type="button" class="danger" disabled={a.busy}
          onClick={() => ask({ title: 'Delete the user?', confirmLabel: 'Delete user', message: `${user.userName} is deleted with their sessions, tokens and memberships. This cannot be undone.`,
            run: () => void a.run(() => api.del(`Users/${user.id}`), 'The user was deleted.').then((ok) => { if (ok) navigate('/users'); }) })}>Delete user</button>
      </div>
    </section>
  );
}

function Password({ user }: { user: User }) {
  const { api } = useApp();
  const [pw, setPw] = useState('');
  const a = useAction();
  return (
    <form class="panel" aria-labelledby="password-title"
      onSubmit={(e) => { e.preventDefault(); void a.run(() => api.put(`UserPasswordChanger/${user.id}`, { schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:UserPasswordChanger'], password: pw }), 'The password was set; the user\'s sessions ended.').then((ok) => { if (ok) setPw(''); }); }}>
      <h2 id="password-title">Set password</h2>
      {a.banners}
      <Field label="New password" name="newPassword" type="password" value={pw} onInput={setPw} autoComplete="new-password" required
        hint="The domain's password policy applies. Tell the user through a channel you trust." />
      <div class="actions"><button type="submit" disabled={a.busy || !pw}>Set password</button></div>
    </form>
  );
}

function Groups({ user, canWrite, reload, ask }: { user: User; canWrite: boolean; reload(): Promise<void>; ask: Ask }) {
  const { api } = useApp();
  const a = useAction();
  const groups = user.groups ?? [];
  const patch = (groupId: string, op: Record<string, unknown>) => api.patch(`Groups/${groupId}`, { schemas: [SCIM_PATCH], Operations: [op] });
  return (
    <section class="panel" aria-labelledby="user-groups-title">
      <h2 id="user-groups-title">Groups</h2>
      {a.banners}
      {groups.length === 0 ? <p class="muted">Not a member of any group.</p> : (
        <ul class="items" aria-label="Groups of the user">
          {groups.map((g) => (
            <li key={g.value}>
              <a href={href(`/groups/${g.value}`)}>{g.display ?? g.value}</a>
              {canWrite ? <button type="button" class="secondary" disabled={a.busy} aria-label={`Remove from ${g.display ?? 'group'}`}
                onClick={() => ask({ title: 'Remove from the group?', confirmLabel: 'Remove', message: `${user.userName} loses what ${g.display ?? 'the group'} gives.`,
                  run: () => void a.run(async () => { await patch(g.value, { op: 'remove', path: `members[value eq "${user.id}"]` }); await reload(); }, 'Removed from the group.') })}>Remove</button> : null}
            </li>
          ))}
        </ul>
      )}
      {canWrite ? <PrincipalPicker label="Find a group to add the user to" kinds={['Group']} busy={a.busy} exclude={new Set(groups.map((g) => g.value))}
        onPick={(g) => void a.run(async () => { await patch(g.value, { op: 'add', path: 'members', value: [{ value: user.id, type: 'User' }] }); await reload(); }, `Added to ${g.display}.`)} /> : null}
    </section>
  );
}

function Sessions({ user, canWrite, ask }: { user: User; canWrite: boolean; ask: Ask }) {
  const { api } = useApp();
  const a = useAction();
  const [items, setItems] = useState<Session[]>();
  const load = async () => setItems((await api.get<ListResponse<Session>>('Sessions', { userId: user.id })).Resources ?? []);
  useEffect(() => { load().catch(a.setError); }, [user.id]);
  return (
    <section class="panel" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      {a.banners}
      {items && items.length === 0 ? <p class="muted">No active sessions.</p> : null}
      {items && items.length > 0 ? (
        <ul class="items" aria-label="Sessions of the user">
          {items.map((s) => (
            <li key={s.id} data-session={s.id}>
              <span>Signed in {when(s.authTime)}{s.amr?.length ? ` with ${s.amr.join(', ')}` : ''}{s.clientIp ? ` from ${s.clientIp}` : ''}<span class="muted">{s.userAgent ? ` · ${s.userAgent}` : ''} · ends {when(s.expiresAt)}</span></span>
              {canWrite ? <button type="button" class="secondary" disabled={a.busy} aria-label={`Sign out the session of ${when(s.authTime)}`}
                onClick={() => void a.run(async () => { await api.del(`Sessions/${s.id}`); await load(); }, 'The session was signed out.')}>Sign out</button> : null}
            </li>
          ))}
        </ul>
      ) : null}
      {canWrite && items && items.length > 0 ? (
        <div class="actions"><button type="button" class="secondary" disabled={a.busy}
          onClick={() => ask({ title: 'Sign out everywhere?', confirmLabel: 'Sign out all', message: `All of ${user.userName}'s sessions end.`,
            run: () => void a.run(async () => {
              await api.post('SessionsRemover', { schemas: ['urn:ietf:params:scim:schemas:tessera:2.0:SessionsRemover'], user: { value: user.id } });
              await load();
            }, 'All sessions were signed out.') })}>Sign out all sessions</button></div>
      ) : null}
    </section>
  );
}

function Consents({ user, canWrite }: { user: User; canWrite: boolean }) {
  const { api } = useApp();
  const a = useAction();
  const [items, setItems] = useState<Consent[]>();
  const load = async () => setItems((await api.get<ListResponse<Consent>>('Consents', { userId: user.id })).Resources ?? []);
  useEffect(() => { load().catch(a.setError); }, [user.id]);
  return (
    <section class="panel" aria-labelledby="consents-title">
      <h2 id="consents-title">Consents</h2>
      {a.banners}
      {items && items.length === 0 ? <p class="muted">No app holds a consent.</p> : null}
      {items && items.length > 0 ? (
        <ul class="items" aria-label="Consents of the user">
          {items.map((c) => (
            <li key={c.id} data-consent={c.clientId}>
              <span>{c.clientId} <span class="muted">{(c.scopes ?? []).join(' ')}</span></span>
              {canWrite ? <button type="button" class="secondary" disabled={a.busy} aria-label={`Revoke the consent of ${c.clientId}`}
                onClick={() => void a.run(async () => { await api.del(`Consents/${c.id}`); await load(); }, 'The consent was revoked; the app asks again.')}>Revoke</button> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

/** `#/users/ID`: one user, what can be done to them, their groups, roles, sessions and consents. */
export function UserDetail({ id }: { id: string }) {
  const { api, scopes } = useApp();
  const [user, setUser] = useState<User>();
  const [error, setError] = useState<unknown>();
  const [dialog, ask] = useConfirm();
  const reload = async () => { setUser(await api.get<User>(`Users/${encodeURIComponent(id)}`)); };
  useEffect(() => { setUser(undefined); setError(undefined); reload().catch(setError); }, [id]);
  const canWrite = scopes.can(SCOPES.users);
  return (
    <section aria-labelledby="user-title">
      <p><a href={href('/users')}>← All users</a></p>
      <h1 id="user-title">{user ? user.userName : 'User'}</h1>
      <ErrorBanner error={error} />
      {user ? (
        <>
          <p class="muted" data-status>{user.active === false ? 'Disabled: cannot sign in' : 'Active'}</p>
          <div class="detail-grid">
            <Profile key={`${user.id}`} user={user} canWrite={canWrite} reload={reload} />
            {canWrite ? <Account user={user} reload={reload} ask={ask} /> : null}
            {scopes.can(SCOPES.users, SCOPES.resetPassword) ? <Password user={user} /> : null}
            <Groups user={user} canWrite={scopes.can(SCOPES.groups)} reload={reload} ask={ask} />
            {scopes.can(SCOPES.apps) ? <GrantsPanel granteeType="User" granteeId={user.id} granteeName={user.userName} ask={ask} /> : null}
            <Sessions user={user} canWrite={canWrite} ask={ask} />
            <Consents user={user} canWrite={canWrite} />
          </div>
        </>
      ) : null}
      {dialog}
    </section>
  );
}
