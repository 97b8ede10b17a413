import { useEffect, useState } from 'preact/hooks';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { ConfirmDialog, ErrorBanner, InfoBanner, SelectField } from '../ui/index.js';
import type { PageDef } from './types.js';

interface SigningKey { kid: string; alg: string; status: string; created: string; activated?: string; retired?: string; expires?: string; signsFrom?: string }
interface Rotation { alg: string; outcome: string; active?: string; next?: string; message: string; warning?: string }

const when = (iso?: string) => (iso ? new Date(iso).toLocaleString() : '');
/** The algorithms the server signs with (src/config/schema.ts SIGNING_ALGS). */
const ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
const STATUS_ORDER: Record<string, number> = { active: 0, next: 1, retired: 2 };

function Keys() {
  const { api, cfg } = useApp();
  const [keys, setKeys] = useState<SigningKey[]>();
  const [error, setError] = useState<unknown>();
  const [asked, setAsked] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Rotation>();
  const [extra, setExtra] = useState('');
  const load = () => api.get<{ Resources: SigningKey[] }>('SigningKeys').then((r) => setKeys(r.Resources), setError);
  useEffect(() => { void load(); }, []);
  const algs = [...new Set((keys ?? []).map((k) => k.alg))].sort();
  const missing = ALGS.filter((a) => !algs.includes(a));
  const rotate = async (alg: string) => {
    setAsked(undefined); setBusy(true); setError(undefined); setResult(undefined);
    try {
      setResult(await api.post<Rotation>('SigningKeys/rotate', { alg }));
      await load();
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  const sorted = [...(keys ?? [])].sort((a, b) => a.alg.localeCompare(b.alg) || (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || b.created.localeCompare(a.created));
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">Signing keys</h1>
      <p class="muted">Keys that sign this domain's tokens, published at <a href={`${cfg.issuer}/admin/v1/SigningCert/jwk`}>the JWKS</a>.
        Rotating makes the published next key sign, retires the active one (it stays published while its tokens live) and publishes a new next key.</p>
      <ErrorBanner error={error} />
      {result ? (
        <div data-rotation={result.outcome}>
          <InfoBanner kind="ok">{result.message}</InfoBanner>
          {result.warning ? <div class="banner warn" role="alert"><strong>Warning: </strong>{result.warning}</div> : null}
        </div>
      ) : null}
      <div class="actions start" role="group" aria-label="Rotate">
        {algs.map((a) => <button type="button" key={a} disabled={busy} onClick={() => setAsked(a)}>Rotate {a}</button>)}
      </div>
      {keys && missing.length ? (
        <form class="inline-form keys-extra" onSubmit={(e) => { e.preventDefault(); const a = extra || missing[0]!; void rotate(a); }}>
          <SelectField label="Another algorithm" name="alg" value={extra || missing[0]!} onChange={setExtra} options={missing.map((a) => ({ value: a, label: a }))}
            hint="Publishes a first key of it now; it starts signing after the publish delay." />
          <button type="submit" class="secondary" disabled={busy}>Publish a key</button>
        </form>
      ) : null}
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Signing keys">
        <table aria-busy={keys ? undefined : 'true'}>
          <caption class="visually-hidden">Signing keys</caption>
          <thead><tr><th scope="col">Key id (kid)</th><th scope="col">Algorithm</th><th scope="col">Status</th><th scope="col">Published</th><th scope="col">Signing since</th><th scope="col">Expires</th></tr></thead>
          <tbody>
            {sorted.map((k) => (
              <tr key={k.kid} data-kid={k.kid} data-status={k.status}>
                <td><code>{k.kid}</code></td><td>{k.alg}</td>
                <td><span class={`tag ${k.status}`}>{k.status}</span></td>
                <td>{when(k.created)}</td>
                <td>{k.activated ? when(k.activated) : k.signsFrom ? `from ${when(k.signsFrom)}` : ''}</td>
                <td>{when(k.expires)}</td>
              </tr>
            ))}
            {keys && keys.length === 0 ? <tr><td colSpan={6} class="muted">No keys.</td></tr> : null}
          </tbody>
        </table>
      </div>
      <ConfirmDialog open={asked !== undefined} title={`Rotate the ${asked ?? ''} key?`}
        message="The next key starts signing now. Verifiers that cached the JWKS before the next key was published may reject new tokens until they fetch it again."
        confirmLabel="Rotate" onConfirm={() => void rotate(asked!)} onCancel={() => setAsked(undefined)} />
    </section>
  );
}

export const keysPage: PageDef = { path: '/keys', title: 'Signing keys', allowed: (s) => s.can(SCOPES.settings), component: Keys };
