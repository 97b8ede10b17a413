import { useEffect, useState } from 'preact/hooks';
import { SCIM_PATCH, scimString, type Api, type ListResponse } from '../../../shared/api.js';
import { SCOPES } from '../../../shared/scopes.js';
import { redirectUriProblem } from '../../../../src/identity/redirect_uris.js';
import { useApp } from '../context.js';
import { href, navigate, type Route } from '../router.js';
import { Checks, ConfirmDialog, DataTable, ErrorBanner, Field, InfoBanner, SearchBox, SecretBox, SelectField, TextAreaField, type Column } from '../ui/index.js';
import type { PageDef } from './types.js';

/**
 * Apps: the list (`#/apps`), the creation wizard (`#/apps/new`), an app (`#/apps/ID`) and its edit form
 * (`#/apps/ID/edit`). Everything goes through /admin/v1/Apps, AppRoles and AppClientSecretRegenerator.
 */
export const APP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:App';
const REGENERATOR_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:AppClientSecretRegenerator';
const PAGE_SIZE = 20;

export interface App {
  id: string;
  displayName: string;
  description?: string;
  active?: boolean;
  isBuiltIn?: boolean;
  isOAuthClient?: boolean;
  isOAuthResource?: boolean;
  name?: string;
  clientType?: 'confidential' | 'public';
  tokenEndpointAuthMethod?: string;
  allowedGrants?: string[];
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  allowedScopes?: { fqs: string }[];
  accessTokenExpiry?: number;
  refreshTokenExpiry?: number;
  pkceRequired?: boolean;
  audience?: string;
  scopes?: { value: string; description?: string }[];
  accessTokenFormat?: string;
  accessTokenSigningAlg?: string;
  grantedAppRoles?: { value: string; display?: string }[];
  clientSecret?: string;
}

interface Role { id: string; displayName: string; scopes?: { value: string }[]; isBuiltIn?: boolean }

// Redirect URIs are checked while typing with the server's own rules (src/identity/redirect_uris.ts imports nothing).
export const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter(Boolean);

/** The first problem of a list of redirect URIs, as the server words it. */
export function urisProblem(text: string): string | undefined {
  for (const uri of lines(text)) {
    const p = redirectUriProblem(uri);
    if (p) return `${JSON.stringify(uri).slice(0, 100)} ${p}`;
  }
  return undefined;
}

const usesSecret = (m?: string) => m === 'client_secret_basic' || m === 'client_secret_post' || m === 'client_secret_jwt';

export function kindOf(a: App): string {
  if (a.isOAuthResource && !a.isOAuthClient) return 'Resource server';
  if (!a.isOAuthClient) return 'App';
  const g = a.allowedGrants ?? [];
  if (a.clientType === 'public') return g.includes('authorization_code') ? 'Public client (PKCE)' : 'Public client';
  if (g.length === 1 && g[0] === 'client_credentials') return 'Service';
  return a.isOAuthResource ? 'Client and resource server' : 'Confidential client';
}

/** A value as the review and the detail page show it. */
export function fmt(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' && x ? String((x as { fqs?: string; value?: string }).fqs ?? (x as { value?: string }).value) : String(x))).join(', ');
  return String(v);
}

// ---- scopes defined by the domain's resource servers (for allowed scopes) ----
interface ScopeOption { value: string; label: string }

function useDomainScopes(api: Api): { options: ScopeOption[]; error: unknown } {
  const [options, setOptions] = useState<ScopeOption[]>([]);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    api.list<App>('Apps', { filter: 'isOAuthResource eq true', attributes: 'displayName,scopes', count: 200 }).then((r) => {
      if (!live) return;
      setOptions((r.Resources ?? []).flatMap((a) => (a.scopes ?? []).map((s) => ({ value: s.value, label: `${s.value} (${a.displayName})` }))));
    }, (e: unknown) => { if (live) setError(e); });
    return () => { live = false; };
  }, []);
  return { options, error };
}

// ---- list ----
const columns: Column<App>[] = [
  { header: 'Name', cell: (a) => <a href={href(`/apps/${a.id}`)}>{a.displayName}</a> },
  { header: 'Kind', cell: (a) => kindOf(a) },
  { header: 'Client ID', cell: (a) => (a.name ? <code>{a.name}</code> : '') },
  { header: 'Status', cell: (a) => <>{a.active === false ? 'Disabled' : 'Active'}{a.isBuiltIn ? <span class="tag" data-builtin="yes">Built-in</span> : null}</> },
];

function AppList({ route }: { route: Route }) {
  const { api } = useApp();
  const q = route.query.get('q') ?? '';
  const start = Math.max(1, Number(route.query.get('start')) || 1);
  const [data, setData] = useState<ListResponse<App>>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(undefined);
    api.list<App>('Apps', {
      filter: q ? `displayName co ${scimString(q)} or name co ${scimString(q)}` : undefined, startIndex: start, count: PAGE_SIZE, sortBy: 'displayName',
      attributes: 'displayName,name,active,isBuiltIn,isOAuthClient,isOAuthResource,clientType,allowedGrants',
    }).then((r) => { if (live) setData(r); }, (e: unknown) => { if (live) setError(e); })
      .finally(() => { if (live) setLoading(false); });
    return () => { live = false; };
  }, [q, start]);
  return (
    <section aria-labelledby="apps-title">
      <h1 id="apps-title">Apps</h1>
      <div class="toolbar">
        <a class="button" href={href('/apps/new')}>Create app</a>
      </div>
      <SearchBox label="Search by name or client ID" initial={q} onSearch={(v) => navigate('/apps', { q: v })} />
      <ErrorBanner error={error} />
      <DataTable caption="Apps" columns={columns} rows={data?.Resources ?? (data ? [] : undefined)} rowKey={(a) => a.id}
        startIndex={start} pageSize={PAGE_SIZE} total={data?.totalResults ?? 0} loading={loading}
        onPage={(s) => navigate('/apps', { q, start: String(s) })} empty={q ? 'No app matches the search.' : 'No apps yet.'} />
    </section>
  );
}

// ---- wizard ----
type Kind = 'web' | 'spa' | 'native' | 'service' | 'resource';
const KINDS: { kind: Kind; label: string; text: string }[] = [
  { kind: 'web', label: 'Web app', text: 'A server-side web app that keeps a secret: authorization code with PKCE, refresh tokens, client_secret_basic.' },
  { kind: 'spa', label: 'Single-page app', text: 'A browser app that cannot keep a secret: public client, authorization code with PKCE, no secret.' },
  { kind: 'native', label: 'Native app', text: 'A desktop or mobile app: public client, PKCE, loopback or custom-scheme redirect URIs (RFC 8252).' },
  { kind: 'service', label: 'Service', text: 'A machine-to-machine client: confidential, client credentials, the scopes it may ask for.' },
  { kind: 'resource', label: 'Resource server', text: 'An API that accepts access tokens: audience, scopes, token format and signing algorithm.' },
];

interface Draft {
  displayName: string;
  description: string;
  grants: string[];
  authMethod: string;
  pkce: boolean;
  redirectUris: string;
  postLogoutUris: string;
  allowedScopes: string[];
  accessTokenExpiry: string;
  audience: string;
  scopes: string;
  accessTokenFormat: string;
  accessTokenSigningAlg: string;
}

function defaults(kind: Kind): Draft {
  const d: Draft = {
    displayName: '', description: '', grants: ['authorization_code', 'refresh_token'], authMethod: 'client_secret_basic', pkce: true,
    redirectUris: '', postLogoutUris: '', allowedScopes: [], accessTokenExpiry: '', audience: '', scopes: '', accessTokenFormat: 'jwt', accessTokenSigningAlg: 'RS256',
  };
  if (kind === 'spa') return { ...d, grants: ['authorization_code'], authMethod: 'none' };
  if (kind === 'native') return { ...d, authMethod: 'none', redirectUris: 'http://127.0.0.1/callback' };
  if (kind === 'service') return { ...d, grants: ['client_credentials'] };
  return d;
}

const isPublic = (k: Kind) => k === 'spa' || k === 'native';
const redirecting = (k: Kind, d: Draft) => k !== 'service' && k !== 'resource' && d.grants.includes('authorization_code');

/** A resource server's scopes, one a line: `value` or `value description…`. */
export function parseScopes(text: string): { value: string; description?: string }[] {
  return lines(text).map((l) => {
    const [value, ...rest] = l.split(/\s+/);
    const description = rest.join(' ');
    return description ? { value: value!, description } : { value: value! };
  });
}

/** The SCIM body the wizard sends: what the review step shows, attribute by attribute. */
export function bodyOf(kind: Kind, d: Draft): Record<string, unknown> {
  const b: Record<string, unknown> = { schemas: [APP_SCHEMA], displayName: d.displayName.trim() };
  if (d.description.trim()) b.description = d.description.trim();
  if (kind === 'resource') {
    b.isOAuthResource = true;
    b.audience = d.audience.trim();
    b.scopes = parseScopes(d.scopes);
    b.accessTokenFormat = d.accessTokenFormat;
    if (d.accessTokenFormat === 'jwt') b.accessTokenSigningAlg = d.accessTokenSigningAlg;
  } else {
    b.isOAuthClient = true;
    b.clientType = isPublic(kind) ? 'public' : 'confidential';
    b.tokenEndpointAuthMethod = isPublic(kind) ? 'none' : d.authMethod;
    b.allowedGrants = kind === 'service' ? ['client_credentials'] : d.grants;
    if (kind !== 'service') {
      b.redirectUris = lines(d.redirectUris);
      b.pkceRequired = isPublic(kind) ? true : d.pkce;
      if (lines(d.postLogoutUris).length) b.postLogoutRedirectUris = lines(d.postLogoutUris);
    }
    if (d.allowedScopes.length) b.allowedScopes = d.allowedScopes.map((fqs) => ({ fqs }));
  }
  if (d.accessTokenExpiry.trim()) b.accessTokenExpiry = Number(d.accessTokenExpiry.trim());
  return b;
}

const LABELS: Record<string, string> = {
  displayName: 'Name', description: 'Description', isOAuthClient: 'OAuth client', isOAuthResource: 'Resource server', clientType: 'Client type',
  tokenEndpointAuthMethod: 'Client authentication', allowedGrants: 'Grant types', redirectUris: 'Redirect URIs', pkceRequired: 'PKCE required',
  postLogoutRedirectUris: 'Post-logout redirect URIs', allowedScopes: 'Allowed scopes', accessTokenExpiry: 'Access token lifetime (seconds)',
  audience: 'Audience', scopes: 'Scopes', accessTokenFormat: 'Access token format', accessTokenSigningAlg: 'Signing algorithm',
  refreshTokenExpiry: 'Refresh token lifetime (seconds)', name: 'Client ID', active: 'Enabled',
};

function Review({ body }: { body: Record<string, unknown> }) {
  return (
    <dl class="review" aria-label="What will be created">
      {Object.entries(body).filter(([k]) => k !== 'schemas').map(([k, v]) => (
        <div key={k} class="review-row"><dt>{LABELS[k] ?? k}</dt><dd data-key={k}>{fmt(v) || <span class="muted">none</span>}</dd></div>
      ))}
    </dl>
  );
}

function lifetimeProblem(v: string): string | undefined {
  if (!v.trim()) return undefined;
  const n = Number(v.trim());
  return Number.isInteger(n) && n >= 60 && n <= 31_536_000 ? undefined : 'Enter whole seconds between 60 and 31536000, or leave empty for the domain default.';
}

function Wizard() {
  const { api } = useApp();
  const [kind, setKind] = useState<Kind>();
  const [step, setStep] = useState<'kind' | 'settings' | 'review' | 'done'>('kind');
  const [d, setD] = useState<Draft>(defaults('web'));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<App>();
  const scopes = useDomainScopes(api);
  const set = (p: Partial<Draft>) => setD((x) => ({ ...x, ...p }));

  if (step === 'done' && created) {
    return (
      <section aria-labelledby="wizard-title">
        <h1 id="wizard-title">App created</h1>
        <InfoBanner kind="ok">{created.displayName} was created.{created.name ? <> Its client ID is <code data-field="clientId">{created.name}</code>.</> : null}</InfoBanner>
        {created.clientSecret ? <SecretBox label="Client secret" secret={created.clientSecret} /> : null}
        <p><a href={href(`/apps/${created.id}`)}>Open {created.displayName}</a> · <a href={href('/apps')}>Back to the apps</a></p>
      </section>
    );
  }

  if (step === 'kind' || !kind) {
    return (
      <section aria-labelledby="wizard-title">
        <h1 id="wizard-title">Create an app</h1>
        <form onSubmit={(e) => { e.preventDefault(); if (kind) setStep('settings'); }}>
          <fieldset class="kinds">
            <legend>What kind of app?</legend>
            {KINDS.map((k) => (
              <label key={k.kind} class="kind">
                <input type="radio" name="kind" value={k.kind} checked={kind === k.kind} onChange={() => { setKind(k.kind); setD(defaults(k.kind)); }} />
                <span><strong>{k.label}</strong><br /><span class="muted">{k.text}</span></span>
              </label>
            ))}
          </fieldset>
          <div class="actions">
            <a class="button secondary" href={href('/apps')}>Cancel</a>
            <button type="submit" disabled={!kind}>Next</button>
          </div>
        </form>
      </section>
    );
  }

  const body = bodyOf(kind, d);
  const uriError = urisProblem(d.redirectUris);
  const needUri = redirecting(kind, d) && lines(d.redirectUris).length === 0 ? 'authorization_code needs at least one redirect URI' : undefined;
  const logoutError = urisProblem(d.postLogoutUris);
  const lifeError = lifetimeProblem(d.accessTokenExpiry);
  const label = KINDS.find((k) => k.kind === kind)!.label;
  const grantOptions = isPublic(kind)
    ? [{ value: 'authorization_code', label: 'Authorization code (with PKCE)' }, { value: 'refresh_token', label: 'Refresh token' }]
    : [{ value: 'authorization_code', label: 'Authorization code' }, { value: 'refresh_token', label: 'Refresh token' }, { value: 'client_credentials', label: 'Client credentials' }];

  const create = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setCreated(await api.post<App>('Apps', body));
      setStep('done');
    } catch (e) { setError(e); } finally { setBusy(false); }
  };

  if (step === 'review') {
    return (
      <section aria-labelledby="wizard-title">
        <h1 id="wizard-title">Create a {label.toLowerCase()}: review</h1>
        <p>These settings will be sent to the server as they are shown.</p>
        <Review body={body} />
        {uriError || logoutError ? <div class="banner error" role="alert">Redirect URI {uriError ?? logoutError}: the server will refuse it.</div> : null}
        <ErrorBanner error={error} />
        <div class="actions">
          <button type="button" class="secondary" onClick={() => setStep('settings')}>Back</button>
          <button type="button" disabled={busy} onClick={() => void create()}>Create</button>
        </div>
      </section>
    );
  }

  return (
    <section aria-labelledby="wizard-title">
      <h1 id="wizard-title">Create a {label.toLowerCase()}</h1>
      <form onSubmit={(e) => { e.preventDefault(); setStep('review'); }}>
        <Field label="Name" name="displayName" required value={d.displayName} onInput={(v) => set({ displayName: v })} />
        <Field label="Description" name="description" value={d.description} onInput={(v) => set({ description: v })} />
        {kind === 'resource' ? (
          <>
            <Field label="Audience" name="audience" required value={d.audience} onInput={(v) => set({ audience: v })} hint="The aud of its access tokens, e.g. https://api.example.com" />
            <TextAreaField rows={3} label="Scopes" name="scopes" value={d.scopes} onInput={(v) => set({ scopes: v })} hint="One a line: the scope, then optionally a description." />
            <SelectField label="Access token format" name="accessTokenFormat" value={d.accessTokenFormat} onChange={(v) => set({ accessTokenFormat: v })}
              options={[{ value: 'jwt', label: 'JWT (RFC 9068)' }, { value: 'opaque', label: 'Opaque (introspection)' }]} />
            {d.accessTokenFormat === 'jwt' ? (
              <SelectField label="Signing algorithm" name="accessTokenSigningAlg" value={d.accessTokenSigningAlg} onChange={(v) => set({ accessTokenSigningAlg: v })}
                options={['RS256', 'PS256', 'ES256', 'EdDSA'].map((a) => ({ value: a, label: a }))} />
            ) : null}
          </>
        ) : (
          <>
            <p class="muted" data-field="clientType">{isPublic(kind) ? 'Public client: it gets no secret and must use PKCE.' : 'Confidential client: it gets a client secret, shown once after creation.'}</p>
            {isPublic(kind) ? null : (
              <SelectField label="Client authentication" name="authMethod" value={d.authMethod} onChange={(v) => set({ authMethod: v })}
                options={[{ value: 'client_secret_basic', label: 'client_secret_basic (HTTP Basic)' }, { value: 'client_secret_post', label: 'client_secret_post (form body)' }]} />
            )}
            {kind === 'service' ? null : (
              <>
                <Checks legend="Grant types" name="grants" options={grantOptions} selected={d.grants} onChange={(v) => set({ grants: v })} />
                <TextAreaField rows={3} label="Redirect URIs" name="redirectUris" value={d.redirectUris} onInput={(v) => set({ redirectUris: v })} error={uriError ?? needUri}
                  hint={kind === 'native' ? 'One a line: a loopback address (http://127.0.0.1/callback) or a custom scheme (com.example.app:/callback).' : 'One a line, https (http only for localhost).'} />
                <TextAreaField rows={3} label="Post-logout redirect URIs" name="postLogoutUris" value={d.postLogoutUris} onInput={(v) => set({ postLogoutUris: v })} error={logoutError} hint="One a line (optional)." />
                {isPublic(kind) ? null : (
                  <label class="check"><input type="checkbox" name="pkce" checked={d.pkce} onChange={(e) => set({ pkce: (e.currentTarget as HTMLInputElement).checked })} /> <span>Require PKCE</span></label>
                )}
              </>
            )}
            <Checks legend="Allowed scopes" name="allowedScopes" options={scopes.options} selected={d.allowedScopes} onChange={(v) => set({ allowedScopes: v })}
              empty="No resource server defines scopes yet." hint={kind === 'service' ? 'The scopes the service may ask for.' : 'Scopes of your APIs the app may ask for (OpenID Connect scopes are always allowed).'} />
            <ErrorBanner error={scopes.error} />
          </>
        )}
        <Field label="Access token lifetime (seconds)" name="accessTokenExpiry" value={d.accessTokenExpiry} onInput={(v) => set({ accessTokenExpiry: v })} error={lifeError} hint="Empty: the domain default." />
        <div class="actions">
          <button type="button" class="secondary" onClick={() => setStep('kind')}>Back</button>
          <button type="submit">Review</button>
        </div>
      </form>
    </section>
  );
}

// ---- detail ----
function useAppRecord(api: Api, id: string, tick: number) {
  const [app, setApp] = useState<App>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    setError(undefined);
    api.get<App>(`Apps/${encodeURIComponent(id)}`).then((a) => { if (live) setApp(a); }, (e: unknown) => { if (live) setError(e); });
    return () => { live = false; };
  }, [id, tick]);
  return { app, error };
}

function Detail({ id }: { id: string }) {
  const { api, scopes } = useApp();
  const [tick, setTick] = useState(0);
  const { app, error: loadError } = useAppRecord(api, id, tick);
  const [roles, setRoles] = useState<Role[]>();
  const [error, setError] = useState<unknown>();
  const [secret, setSecret] = useState<string>();
  const [confirm, setConfirm] = useState<'' | 'delete' | 'rotate'>('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    api.list<Role>('AppRoles', { filter: `app.value eq ${scimString(id)}`, attributes: 'displayName,scopes,isBuiltIn', count: 200 })
      .then((r) => { if (live) setRoles(r.Resources ?? []); }, (e: unknown) => { if (live) setError(e); });
    return () => { live = false; };
  }, [id]);

  if (loadError) return <section><h1>App</h1><ErrorBanner error={loadError} /><p><a href={href('/apps')}>Back to the apps</a></p></section>;
  if (!app) return <section><h1>App</h1><p aria-live="polite">Loading…</p></section>;

  const editable = !app.isBuiltIn && scopes.can(SCOPES.apps);
  const rotatable = editable && app.isOAuthClient && app.clientType === 'confidential' && usesSecret(app.tokenEndpointAuthMethod);
  const act = async (f: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try { await f(); } catch (e) { setError(e); } finally { setBusy(false); }
  };
  const rotate = () => act(async () => {
    setConfirm('');
    const r = await api.post<{ clientSecret: string }>('AppClientSecretRegenerator', { schemas: [REGENERATOR_SCHEMA], appId: app.id });
    setSecret(r.clientSecret);
  });
  const toggle = () => act(async () => {
    await api.patch(`Apps/${app.id}`, { schemas: [SCIM_PATCH], Operations: [{ op: 'replace', path: 'active', value: app.active === false }] });
    setTick((t) => t + 1);
  });
  const remove = () => act(async () => {
    setConfirm('');
    await api.del(`Apps/${app.id}`);
    navigate('/apps');
  });

  const rows: [string, unknown][] = [
    ['name', app.name], ['clientType', app.clientType], ['tokenEndpointAuthMethod', app.tokenEndpointAuthMethod], ['allowedGrants', app.allowedGrants],
    ['pkceRequired', app.pkceRequired], ['redirectUris', app.redirectUris], ['postLogoutRedirectUris', app.postLogoutRedirectUris],
    ['allowedScopes', app.allowedScopes], ['accessTokenExpiry', app.accessTokenExpiry], ['refreshTokenExpiry', app.refreshTokenExpiry],
    ['audience', app.audience], ['accessTokenFormat', app.accessTokenFormat], ['accessTokenSigningAlg', app.accessTokenSigningAlg],
  ];
  return (
    <section aria-labelledby="app-title">
      <p><a href={href('/apps')}>← Apps</a></p>
      <h1 id="app-title">{app.displayName}</h1>
      <p class="muted">
        {kindOf(app)} · <span data-field="status">{app.active === false ? 'Disabled' : 'Active'}</span>
        {app.isBuiltIn ? <span class="tag" data-builtin="yes">Built-in</span> : null}
      </p>
      {app.description ? <p>{app.description}</p> : null}
      {app.isBuiltIn ? <InfoBanner>This app is built in to the identity domain: it cannot be changed, disabled or deleted.</InfoBanner> : null}
      <ErrorBanner error={error} />
      {secret ? <SecretBox label="New client secret" secret={secret} /> : null}
      {editable ? (
        <div class="toolbar" role="group" aria-label="App actions">
          <a class="button" href={href(`/apps/${app.id}/edit`)}>Edit</a>
          {rotatable ? <button type="button" class="secondary" disabled={busy} onClick={() => setConfirm('rotate')}>Regenerate secret</button> : null}
          <button type="button" class="secondary" disabled={busy} onClick={() => void toggle()}>{app.active === false ? 'Enable' : 'Disable'}</button>
          <button type="button" class="danger" disabled={busy} onClick={() => setConfirm('delete')}>Delete</button>
        </div>
      ) : null}
      <dl class="review" aria-label="Settings">
        {rows.filter(([, v]) => v !== undefined && fmt(v) !== '').map(([k, v]) => (
          <div key={k} class="review-row"><dt>{LABELS[k] ?? k}</dt><dd data-key={k}>{fmt(v)}</dd></div>
        ))}
      </dl>
      {app.isOAuthResource ? (
        <>
          <h2>Scopes it defines</h2>
          {(app.scopes ?? []).length === 0 ? <p class="muted">None.</p> : (
            <ul class="plain">{(app.scopes ?? []).map((s) => <li key={s.value}><code>{s.value}</code>{s.description ? ` — ${s.description}` : ''}</li>)}</ul>
          )}
        </>
      ) : null}
      <h2>App roles of this app</h2>
      {roles === undefined ? <p aria-live="polite">Loading…</p> : roles.length === 0 ? <p class="muted">No roles.{app.isOAuthResource && editable ? <> <a href={href('/roles')}>Create one under App roles</a>.</> : null}</p> : (
        <div class="table-wrap">
          <table data-table="roles">
            <caption class="visually-hidden">App roles of {app.displayName}</caption>
            <thead><tr><th scope="col">Role</th><th scope="col">Scopes it carries</th></tr></thead>
            <tbody>{roles.map((r) => <tr key={r.id}><td><a href={href(`/roles/${r.id}`)}>{r.displayName}</a></td><td>{fmt(r.scopes)}</td></tr>)}</tbody>
          </table>
        </div>
      )}
      {(app.grantedAppRoles ?? []).length ? (
        <>
          <h2>Roles granted to this app</h2>
          <ul class="plain">{app.grantedAppRoles!.map((g) => <li key={g.value}><a href={href(`/roles/${g.value}`)}>{g.display ?? g.value}</a></li>)}</ul>
        </>
      ) : null}
      {editable ? (
        // One dialog (its title id is fixed): deleting, or regenerating the secret.
        <ConfirmDialog open={confirm !== ''} danger={confirm === 'delete'} confirmLabel={confirm === 'rotate' ? 'Regenerate' : 'Delete'}
          title={confirm === 'rotate' ? 'Regenerate the client secret?' : `Delete ${app.displayName}?`}
          message={confirm === 'rotate' ? 'A new secret is made and shown once. The current secret stops working at once.'
            : 'The app, its credentials and the roles granted to it are removed. Its tokens stop working.'}
          onConfirm={() => void (confirm === 'rotate' ? rotate() : remove())} onCancel={() => setConfirm('')} />
      ) : null}
    </section>
  );
}

// ---- edit ----
function Edit({ id }: { id: string }) {
  const { api } = useApp();
  const { app, error: loadError } = useAppRecord(api, id, 0);
  const scopes = useDomainScopes(api);
  const [f, setF] = useState<{ redirectUris: string; postLogoutUris: string; grants: string[]; allowedScopes: string[]; accessTokenExpiry: string }>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (app && !f) {
      setF({
        redirectUris: (app.redirectUris ?? []).join('\n'), postLogoutUris: (app.postLogoutRedirectUris ?? []).join('\n'), grants: app.allowedGrants ?? [],
        allowedScopes: (app.allowedScopes ?? []).map((s) => s.fqs), accessTokenExpiry: app.accessTokenExpiry === undefined ? '' : String(app.accessTokenExpiry),
      });
    }
  }, [app]);
  if (loadError) return <section><h1>Edit app</h1><ErrorBanner error={loadError} /></section>;
  if (!app || !f) return <section><h1>Edit app</h1><p aria-live="polite">Loading…</p></section>;
  const set = (p: Partial<typeof f>) => setF((x) => ({ ...x!, ...p }));
  const client = app.isOAuthClient === true;
  const uriError = urisProblem(f.redirectUris);
  const logoutError = urisProblem(f.postLogoutUris);
  const lifeError = lifetimeProblem(f.accessTokenExpiry);
  const grantOptions = (app.clientType === 'public' ? ['authorization_code', 'refresh_token'] : ['authorization_code', 'refresh_token', 'client_credentials'])
    .concat((app.allowedGrants ?? []).filter((g) => !['authorization_code', 'refresh_token', 'client_credentials'].includes(g)))
    .map((g) => ({ value: g, label: g }));
  const scopeOptions = [...scopes.options, ...f.allowedScopes.filter((s) => !scopes.options.some((o) => o.value === s)).map((s) => ({ value: s, label: s }))];

  const save = async () => {
    setBusy(true);
    setError(undefined);
    const ops: { op: string; path: string; value?: unknown }[] = [];
    const put = (path: string, value: unknown[] | number | undefined, present: boolean) => {
      const empty = value === undefined || (Array.isArray(value) && value.length === 0);
      if (!empty) ops.push({ op: 'replace', path, value });
      else if (present) ops.push({ op: 'remove', path });
    };
    if (client) {
      put('redirectUris', lines(f.redirectUris), (app.redirectUris ?? []).length > 0);
      put('postLogoutRedirectUris', lines(f.postLogoutUris), (app.postLogoutRedirectUris ?? []).length > 0);
      put('allowedGrants', f.grants, (app.allowedGrants ?? []).length > 0);
      put('allowedScopes', f.allowedScopes.map((fqs) => ({ fqs })), (app.allowedScopes ?? []).length > 0);
    }
    put('accessTokenExpiry', f.accessTokenExpiry.trim() ? Number(f.accessTokenExpiry.trim()) : undefined, app.accessTokenExpiry !== undefined);
    try {
      await api.patch(`Apps/${app.id}`, { schemas: [SCIM_PATCH], Operations: ops });
      navigate(`/apps/${app.id}`);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <section aria-labelledby="edit-title">
      <p><a href={href(`/apps/${app.id}`)}>← {app.displayName}</a></p>
      <h1 id="edit-title">Edit {app.displayName}</h1>
      {app.isBuiltIn ? <InfoBanner>This app is built in: the server refuses changes to it.</InfoBanner> : null}
      <form onSubmit={(e) => { e.preventDefault(); void save(); }}>
        {client ? (
          <>
            <TextAreaField rows={3} label="Redirect URIs" name="redirectUris" value={f.redirectUris} onInput={(v) => set({ redirectUris: v })} error={uriError} hint="One a line." />
            <TextAreaField rows={3} label="Post-logout redirect URIs" name="postLogoutUris" value={f.postLogoutUris} onInput={(v) => set({ postLogoutUris: v })} error={logoutError} hint="One a line." />
            <Checks legend="Grant types" name="grants" options={grantOptions} selected={f.grants} onChange={(v) => set({ grants: v })} />
            <Checks legend="Allowed scopes" name="allowedScopes" options={scopeOptions} selected={f.allowedScopes} onChange={(v) => set({ allowedScopes: v })} empty="No resource server defines scopes yet." />
            <ErrorBanner error={scopes.error} />
          </>
        ) : null}
        <Field label="Access token lifetime (seconds)" name="accessTokenExpiry" value={f.accessTokenExpiry} onInput={(v) => set({ accessTokenExpiry: v })} error={lifeError} hint="Empty: the domain default." />
        <ErrorBanner error={error} />
        <div class="actions">
          <a class="button secondary" href={href(`/apps/${app.id}`)}>Cancel</a>
          <button type="submit" disabled={busy}>Save</button>
        </div>
      </form>
    </section>
  );
}

function Apps({ route }: { route: Route }) {
  const rest = route.path.replace(/^\/apps\/?/, '');
  if (rest === '') return <AppList route={route} />;
  if (rest === 'new') return <Wizard />;
  const [id, sub] = rest.split('/');
  if (sub === 'edit') return <Edit key={id} id={decodeURIComponent(id!)} />;
  return <Detail key={id} id={decodeURIComponent(id!)} />;
}

export const appsPage: PageDef = { path: '/apps', title: 'Apps', allowed: (s) => s.can(SCOPES.apps), component: Apps };
