import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../../console/src/context.js';
import { ErrorBanner, InfoBanner } from '../../console/src/ui/index.js';
import { when } from './format.js';

/**
 * The apps the user allowed (GET /admin/v1/MyConsents: per client, the scopes consented to) and revoking one
 * (DELETE MyConsents/{clientId}): the app's tokens for the user are revoked too, and its next sign-in asks again.
 */
interface Consent { id: string; clientId: string; scopes: string[]; meta?: { created?: string; lastModified?: string } }
interface ListResponse<T> { Resources?: T[] }

export function Apps() {
  const { api } = useApp();
  const [items, setItems] = useState<Consent[]>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);
  const load = async () => {
    try { setItems((await api.get<ListResponse<Consent>>('MyConsents')).Resources ?? []); } catch (e) { setError(e); }
  };
  useEffect(() => { void load(); }, []);
  const revoke = async (c: Consent) => {
    setBusy(true); setError(undefined); setNotice('');
    try {
      await api.del(`MyConsents/${encodeURIComponent(c.clientId)}`);
      setNotice(`Access of ${c.clientId} was revoked. It asks for your consent again the next time you use it.`);
      await load();
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <section id="apps" tabIndex={-1} aria-labelledby="apps-title">
      <h2 id="apps-title">Apps</h2>
      <p>The apps you allowed to use your account, and what each may do.</p>
      <ErrorBanner error={error} />
      {notice ? <InfoBanner kind="ok">{notice}</InfoBanner> : null}
      {items ? (
        <ul class="item-list" aria-label="Apps you allowed">
          {items.map((c) => (
            <li key={c.clientId} data-consent={c.clientId}>
              <div class="item-head"><strong>{c.clientId}</strong></div>
              <dl class="item-facts">
                <dt>Allowed</dt><dd data-field="scopes">{c.scopes.join(', ') || '—'}</dd>
                <dt>Since</dt><dd>{when(c.meta?.lastModified ?? c.meta?.created)}</dd>
              </dl>
              <button type="button" class="danger" disabled={busy} aria-label={`Revoke access of ${c.clientId}`} onClick={() => void revoke(c)}>Revoke access</button>
            </li>
          ))}
          {items.length === 0 ? <li class="muted" data-field="no-apps">You have not allowed any app.</li> : null}
        </ul>
      ) : error ? null : <p role="status">Loading…</p>}
    </section>
  );
}
