import { useEffect, useState } from 'preact/hooks';
import type { ListResponse } from '../../../shared/api.js';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { href, navigate, type Route } from '../router.js';
import { CheckField, ConfirmDialog, DataTable, ErrorBanner, Field, FieldSet, InfoBanner, InputField, SelectField, TextAreaField, type Column } from '../ui/index.js';
import type { PageDef } from './types.js';

export const TRUSTED_ISSUER_SCHEMA = 'urn:ietf:params:scim:schemas:tessera:2.0:TrustedIssuer';

interface TrustedIssuer {
  id: string; issuer: string; protocol: 'jwt' | 'saml2'; active: boolean; displayName?: string; description?: string;
  jwks?: { keys: unknown[] }; jwksUri?: string; certificates?: { value: string; subject?: string; notAfter?: string }[];
  subjectAttribute?: string; allowedScopes?: string[]; allowedClients?: string[]; audience?: string; maxAssertionLifetime?: number;
}
interface Form {
  issuer: string; protocol: 'jwt' | 'saml2'; active: boolean; displayName: string; description: string; jwksUri: string; jwks: string;
  certificates: string; subjectAttribute: string; allowedScopes: string; allowedClients: string; audience: string; maxAssertionLifetime: string;
}

const EMPTY: Form = {
  issuer: '', protocol: 'jwt', active: true, displayName: '', description: '', jwksUri: '', jwks: '', certificates: '',
  subjectAttribute: 'userName', allowedScopes: '', allowedClients: '', audience: '', maxAssertionLifetime: '300',
};
const PAGE_SIZE = 20;

const toForm = (t: TrustedIssuer): Form => ({
  issuer: t.issuer, protocol: t.protocol, active: t.active, displayName: t.displayName ?? '', description: t.description ?? '',
  jwksUri: t.jwksUri ?? '', jwks: t.jwks ? JSON.stringify(t.jwks, null, 2) : '', certificates: (t.certificates ?? []).map((c) => c.value.trim()).join('\n\n'),
  subjectAttribute: t.subjectAttribute ?? 'userName', allowedScopes: (t.allowedScopes ?? []).join('\n'), allowedClients: (t.allowedClients ?? []).join('\n'),
  audience: t.audience ?? '', maxAssertionLifetime: String(t.maxAssertionLifetime ?? 300),
});
const words = (v: string) => v.split(/[\s,]+/).filter(Boolean);
const PEM = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The SCIM body of a form; a local problem (JSON that does not parse) is returned as a string for the form to show. */
export function issuerBody(f: Form): Record<string, unknown> | string {
  const body: Record<string, unknown> = {
    schemas: [TRUSTED_ISSUER_SCHEMA], issuer: f.issuer.trim(), protocol: f.protocol, active: f.active, subjectAttribute: f.subjectAttribute,
    allowedScopes: words(f.allowedScopes), allowedClients: words(f.allowedClients),
  };
  if (f.displayName.trim()) body.displayName = f.displayName.trim();
  if (f.description.trim()) body.description = f.description.trim();
  if (f.audience.trim()) body.audience = f.audience.trim();
  if (f.maxAssertionLifetime.trim()) body.maxAssertionLifetime = /^\d+$/.test(f.maxAssertionLifetime.trim()) ? Number(f.maxAssertionLifetime.trim()) : f.maxAssertionLifetime;
  if (f.protocol === 'jwt' && f.jwksUri.trim()) body.jwksUri = f.jwksUri.trim();
  if (f.protocol === 'jwt' && f.jwks.trim()) {
    try { body.jwks = JSON.parse(f.jwks) as unknown; } catch { return 'The JWK Set is not valid JSON.'; }
  }
  const pems = f.certificates.match(PEM) ?? [];
  if (f.certificates.trim() && pems.length === 0) return 'Certificates must be PEM blocks (-----BEGIN CERTIFICATE----- ...).';
  if (pems.length) body.certificates = pems.map((value) => ({ value }));
  return body;
}

function Editor({ id, onDone }: { id?: string; onDone(msg: string): void }) {
  const { api } = useApp();
  const [form, setForm] = useState<Form | undefined>(id ? undefined : EMPTY);
  const [error, setError] = useState<unknown>();
  const [local, setLocal] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!id) return;
    api.get<TrustedIssuer>(`TrustedIssuers/${encodeURIComponent(id)}`).then((t) => setForm(toForm(t)), setError);
  }, [id]);
  const set = <K extends keyof Form>(k: K) => (v: Form[K]) => setForm((f) => f && { ...f, [k]: v });
  const save = async () => {
    if (!form) return;
    const body = issuerBody(form);
    setError(undefined);
    if (typeof body === 'string') { setLocal(body); return; }
    setLocal(undefined); setBusy(true);
    try {
      if (id) await api.put(`TrustedIssuers/${encodeURIComponent(id)}`, body); else await api.post('TrustedIssuers', body);
      onDone(id ? `Trusted issuer ${form.issuer} was saved.` : `Trusted issuer ${form.issuer} was created.`);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <div aria-labelledby="issuer-edit-title">
      <h2 id="issuer-edit-title">{id ? 'Edit trusted issuer' : 'New trusted issuer'}</h2>
      <p><a href={href('/issuers')}>Back to the list</a></p>
      <ErrorBanner error={error} />
      {local ? <div class="banner error" role="alert">{local}</div> : null}
      {form ? (
        <form onSubmit={(e) => { e.preventDefault(); void save(); }}>
          <Field label="Issuer" name="issuer" value={form.issuer} onInput={set('issuer')} required hint="The JWT iss or the SAML entity ID, compared exactly" />
          <SelectField label="Protocol" name="protocol" value={form.protocol} disabled={!!id} onChange={(v) => set('protocol')(v as Form['protocol'])}
            hint={id ? 'Cannot be changed' : undefined}
            options={[{ value: 'jwt', label: 'JWT bearer (RFC 7523)' }, { value: 'saml2', label: 'SAML 2.0 bearer (RFC 7522)' }]} />
          <Field label="Display name" name="displayName" value={form.displayName} onInput={set('displayName')} />
          <Field label="Description" name="description" value={form.description} onInput={set('description')} />
          <CheckField label="Active (its assertions are accepted)" name="active" checked={form.active} onChange={set('active')} />
          <FieldSet legend="Keys">
            {form.protocol === 'jwt' ? (
              <>
                <Field label="JWKS URI" name="jwksUri" type="url" value={form.jwksUri} onInput={set('jwksUri')} hint="https URL of its JWK Set, or give the set below (not both)" />
                <TextAreaField label="JWK Set (JSON)" name="jwks" value={form.jwks} rows={5} onInput={set('jwks')} hint='{"keys":[...]}, public keys only' />
              </>
            ) : null}
            <TextAreaField label="Certificates (PEM)" name="certificates" value={form.certificates} rows={5} onInput={set('certificates')}
              hint={form.protocol === 'saml2' ? 'Required: one or more PEM certificates' : 'Optional key source: one or more PEM certificates'} />
          </FieldSet>
          <FieldSet legend="What its assertions yield">
            <SelectField label="Subject names the user's" name="subjectAttribute" value={form.subjectAttribute} onChange={set('subjectAttribute')}
              options={['userName', 'email', 'externalId', 'id'].map((v) => ({ value: v, label: v }))} />
            <TextAreaField label="Allowed scopes" name="allowedScopes" value={form.allowedScopes} rows={3} onInput={set('allowedScopes')} hint="One per line. Empty: its assertions yield nothing" />
            <TextAreaField label="Allowed clients" name="allowedClients" value={form.allowedClients} rows={3} onInput={set('allowedClients')} hint="Client ids, one per line. Empty: any client" />
            <Field label="Extra audience" name="audience" value={form.audience} onInput={set('audience')} />
            <InputField label="Longest assertion lifetime (seconds)" name="maxAssertionLifetime" type="number" value={form.maxAssertionLifetime} onInput={set('maxAssertionLifetime')} hint="30 to 3600" />
          </FieldSet>
          <div class="actions start"><button type="submit" disabled={busy}>{id ? 'Save issuer' : 'Create issuer'}</button></div>
        </form>
      ) : error ? null : <p class="muted">Loading…</p>}
    </div>
  );
}

function Issuers({ route }: { route: Route }) {
  const { api } = useApp();
  const edit = route.query.get('edit') ?? undefined;
  const creating = route.query.get('new') === '1';
  const start = Math.max(1, Number(route.query.get('start')) || 1);
  const [data, setData] = useState<ListResponse<TrustedIssuer>>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);
  const [notice, setNotice] = useState<string>();
  const [doomed, setDoomed] = useState<TrustedIssuer>();
  const [reload, setReload] = useState(0);
  useEffect(() => {
    if (edit || creating) return;
    let live = true;
    setLoading(true);
    api.list<TrustedIssuer>('TrustedIssuers', { startIndex: start, count: PAGE_SIZE, sortBy: 'issuer' })
      .then((r) => { if (live) setData(r); }, (e: unknown) => { if (live) setError(e); })
      .finally(() => { if (live) setLoading(false); });
    return () => { live = false; };
  }, [edit, creating, start, reload]);
  const remove = async (t: TrustedIssuer) => {
    setDoomed(undefined); setError(undefined); setNotice(undefined);
    try { await api.del(`TrustedIssuers/${encodeURIComponent(t.id)}`); setNotice(`Trusted issuer ${t.issuer} was deleted.`); setReload((n) => n + 1); } catch (e) { setError(e); }
  };
  const columns: Column<TrustedIssuer>[] = [
    { header: 'Issuer', cell: (t) => <a href={href('/issuers', { edit: t.id })}>{t.issuer}</a> },
    { header: 'Name', cell: (t) => t.displayName ?? '' },
    { header: 'Protocol', cell: (t) => t.protocol },
    { header: 'Status', cell: (t) => (t.active ? 'Active' : 'Disabled') },
    { header: 'Keys', cell: (t) => [t.jwksUri ? 'JWKS URI' : '', t.jwks ? `${t.jwks.keys.length} JWK` : '', t.certificates?.length ? `${t.certificates.length} certificate(s)` : ''].filter(Boolean).join(', ') },
    { header: 'Actions', cell: (t) => <button type="button" class="danger" aria-label={`Delete ${t.issuer}`} onClick={() => setDoomed(t)}>Delete</button> },
  ];
  return (
    <section aria-labelledby="issuers-title">
      <h1 id="issuers-title">Trusted issuers</h1>
      {edit || creating ? <Editor key={edit ?? 'new'} id={edit} onDone={(m) => { setNotice(m); navigate('/issuers'); }} /> : (
        <>
          <p class="muted">Identity providers and SAML partners whose signed assertions the token endpoint accepts for users of this domain.</p>
          {notice ? <InfoBanner kind="ok">{notice}</InfoBanner> : null}
          <ErrorBanner error={error} />
          <div class="actions start"><a class="button" href={href('/issuers', { new: '1' })}>New trusted issuer</a></div>
          <DataTable caption="Trusted issuers" columns={columns} rows={data?.Resources ?? (data ? [] : undefined)} rowKey={(t) => t.id}
            startIndex={start} pageSize={PAGE_SIZE} total={data?.totalResults ?? 0} loading={loading}
            onPage={(s) => navigate('/issuers', { start: String(s) })} empty="No trusted issuers yet." />
          <ConfirmDialog open={doomed !== undefined} title="Delete this trusted issuer?" danger confirmLabel="Delete"
            message={`Assertions from ${doomed?.issuer ?? ''} will no longer be accepted.`} onConfirm={() => void remove(doomed!)} onCancel={() => setDoomed(undefined)} />
        </>
      )}
    </section>
  );
}

export const issuersPage: PageDef = { path: '/issuers', title: 'Trusted issuers', allowed: (s) => s.can(SCOPES.apps), component: Issuers };
