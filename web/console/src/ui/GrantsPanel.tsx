import { useEffect, useState } from 'preact/hooks';
import { scimString, type ListResponse } from '../../../shared/api.js';
import { useApp } from '../context.js';
import { ErrorBanner, InfoBanner } from './ErrorBanner.js';
import { SelectField } from './SelectField.js';
import type { Ask } from './useConfirm.js';

const GRANT = 'urn:ietf:params:scim:schemas:oracle:idcs:Grant';
const MECHANISM = { User: 'ADMINISTRATOR_TO_USER', Group: 'ADMINISTRATOR_TO_GROUP' } as const;

interface Role { id: string; displayName: string; app: { value: string; display?: string } }
interface Grant { id: string; app: { value: string; display?: string }; entitlement: { attributeValue: string } }

/**
 * The app roles granted to a user or a group (Grants API, grantee User or Group): list, grant, revoke.
 * Reading grants takes the apps scope; the caller shows this panel only then.
 */
export function GrantsPanel(p: { granteeType: 'User' | 'Group'; granteeId: string; granteeName: string; ask: Ask }) {
  const { api } = useApp();
  const [roles, setRoles] = useState<Role[]>([]);
  const [grants, setGrants] = useState<Grant[]>();
  const [choice, setChoice] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const load = async () => {
    const [r, g] = await Promise.all([
      api.list<Role>('AppRoles', { count: 500, sortBy: 'displayName', attributes: 'displayName,app' }),
      api.list<Grant>('Grants', { filter: `grantee.value eq ${scimString(p.granteeId)}`, count: 500 }) as Promise<ListResponse<Grant>>,
    ]);
    setRoles(r.Resources ?? []);
    setGrants(g.Resources ?? []);
  };
  useEffect(() => { load().catch(setError); }, [p.granteeId]);
  const roleOf = (g: Grant) => roles.find((r) => r.id === g.entitlement.attributeValue);
  const held = new Set((grants ?? []).map((g) => g.entitlement.attributeValue));
  const act = async (f: () => Promise<unknown>, message: string) => {
    setBusy(true); setError(undefined); setDone('');
    try { await f(); await load(); setDone(message); } catch (e) { setError(e); } finally { setBusy(false); }
  };
  const grant = () => {
    const role = roles.find((r) => r.id === choice);
    if (!role) return;
    void act(() => api.post('Grants', {
      schemas: [GRANT], app: { value: role.app.value }, entitlement: { attributeName: 'appRoles', attributeValue: role.id },
      grantMechanism: MECHANISM[p.granteeType], grantee: { value: p.granteeId, type: p.granteeType },
    }), `${role.displayName} was granted.`).then(() => setChoice(''));
  };
  return (
    <section aria-labelledby="roles-title" class="panel">
      <h2 id="roles-title">Roles</h2>
      <ErrorBanner error={error} />
      {done ? <InfoBanner kind="ok">{done}</InfoBanner> : null}
      {grants && grants.length === 0 ? <p class="muted">No roles granted to {p.granteeName}.</p> : null}
      {grants && grants.length > 0 ? (
        <ul class="items" aria-label="Granted roles">
          {grants.map((g) => (
            <li key={g.id} data-grant={g.id}>
              <span>{roleOf(g)?.displayName ?? g.entitlement.attributeValue} <span class="muted">({g.app.display ?? roleOf(g)?.app.display ?? g.app.value})</span></span>
              <button type="button" class="secondary" disabled={busy} aria-label={`Revoke ${roleOf(g)?.displayName ?? 'role'}`} onClick={() => p.ask({ title: 'Revoke the role?', confirmLabel: 'Revoke', message: `${p.granteeName} loses the role ${roleOf(g)?.displayName ?? ''}.`, run: () => void act(() => api.del(`Grants/${g.id}`), 'The role was revoked.') })}>Revoke</button>
            </li>
          ))}
        </ul>
      ) : null}
      <form class="inline-form" onSubmit={(e) => { e.preventDefault(); grant(); }}>
        <SelectField label="Role to grant" name="role" value={choice} onChange={setChoice}
          options={[{ value: '', label: 'Choose a role…' }, ...roles.filter((r) => !held.has(r.id)).map((r) => ({ value: r.id, label: `${r.displayName} (${r.app.display ?? r.app.value})` }))]} />
        <button type="submit" disabled={busy || !choice}>Grant role</button>
      </form>
    </section>
  );
}
