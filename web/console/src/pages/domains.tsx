import { useEffect, useState } from 'preact/hooks';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { ErrorBanner, Field, InfoBanner, SecretBox } from '../ui/index.js';
import type { PageDef } from './types.js';

interface Domain { id: string; name: string; displayName: string; issuer: string; created: string }
interface Created extends Domain { adminClient: { client_id: string; client_secret: string } }

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function Domains() {
  const { api } = useApp();
  const [list, setList] = useState<Domain[]>();
  const [error, setError] = useState<unknown>();
  const [name, setName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [nameError, setNameError] = useState<string>();
  const [created, setCreated] = useState<Created>();
  const [busy, setBusy] = useState(false);
  const load = () => api.get<{ Resources: Domain[] }>('IdentityDomains').then((r) => setList(r.Resources), setError);
  useEffect(() => { void load(); }, []);
  const create = async () => {
    setError(undefined); setCreated(undefined);
    const n = name.trim();
    if (!NAME.test(n)) { setNameError('1 to 63 lower-case letters, digits and hyphens (not at the start or end).'); return; }
    setNameError(undefined); setBusy(true);
    try {
      setCreated(await api.post<Created>('IdentityDomains', { name: n, ...(displayName.trim() ? { displayName: displayName.trim() } : {}) }));
      setName(''); setDisplayName('');
      await load();
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <section aria-labelledby="domains-title">
      <h1 id="domains-title">Identity domains</h1>
      <ErrorBanner error={error} />
      {created ? (
        <div data-created={created.name}>
          <InfoBanner kind="ok">Identity domain {created.name} was created. Its first administrator is the client <code>{created.adminClient.client_id}</code>
            {' '}(client credentials, Identity Domain Administrator). <a href={`${created.issuer}/console/`}>Open its console</a>.</InfoBanner>
          <SecretBox label="Administrator client secret" secret={created.adminClient.client_secret} />
        </div>
      ) : null}
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Identity domains">
        <table aria-busy={list ? undefined : 'true'}>
          <caption class="visually-hidden">Identity domains</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Display name</th><th scope="col">Issuer</th><th scope="col">Created</th><th scope="col">Console</th></tr></thead>
          <tbody>
            {(list ?? []).map((d) => (
              <tr key={d.id} data-domain={d.name}>
                <td>{d.name}</td><td>{d.displayName}</td><td><code>{d.issuer}</code></td><td>{new Date(d.created).toLocaleString()}</td>
                <td><a href={`${d.issuer}/console/`}>Open console<span class="visually-hidden"> of {d.name}</span></a></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Create an identity domain</h2>
      <form onSubmit={(e) => { e.preventDefault(); void create(); }}>
        <Field label="Name" name="name" value={name} onInput={setName} required error={nameError} hint="Part of its URLs: /domains/NAME/" />
        <Field label="Display name" name="displayName" value={displayName} onInput={setDisplayName} />
        <div class="actions start"><button type="submit" disabled={busy}>Create domain</button></div>
      </form>
    </section>
  );
}

export const domainsPage: PageDef = {
  path: '/domains', title: 'Identity domains',
  // Domains are managed through the default domain only (src/admin/domains.ts).
  allowed: (s, cfg) => cfg.domain === 'default' && s.can(SCOPES.settings),
  component: Domains,
};
