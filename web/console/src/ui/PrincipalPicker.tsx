import { useId, useState } from 'preact/hooks';
import { scimString, type ListResponse } from '../../../shared/api.js';
import { useApp } from '../context.js';
import { ErrorBanner } from './ErrorBanner.js';

export interface Principal { value: string; type: 'User' | 'Group'; display: string }

interface Found { id: string; userName?: string; displayName?: string }

/**
 * Find users (userName or email contains the text) and/or groups (displayName contains it) and pick
 * one: each result has its own button. `exclude`: ids already there (shown as such, not pickable).
 */
export function PrincipalPicker(p: { label: string; kinds: ('User' | 'Group')[]; exclude?: ReadonlySet<string>; onPick(x: Principal): void; busy?: boolean }) {
  const { api } = useApp();
  const id = useId();
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Principal[]>();
  const [error, setError] = useState<unknown>();
  const search = async () => {
    setError(undefined);
    const text = q.trim();
    try {
      const out: Principal[] = [];
      if (p.kinds.includes('User')) {
        const r = await api.list<Found>('Users', { filter: text ? `userName co ${scimString(text)} or emails.value co ${scimString(text)}` : undefined, count: 10, sortBy: 'userName', attributes: 'userName,displayName' }) as ListResponse<Found>;
        for (const u of r.Resources ?? []) out.push({ value: u.id, type: 'User', display: u.userName ?? u.id });
      }
      if (p.kinds.includes('Group')) {
        const r = await api.list<Found>('Groups', { filter: text ? `displayName co ${scimString(text)}` : undefined, count: 10, sortBy: 'displayName', attributes: 'displayName' }) as ListResponse<Found>;
        for (const g of r.Resources ?? []) out.push({ value: g.id, type: 'Group', display: g.displayName ?? g.id });
      }
      setFound(out);
    } catch (e) { setError(e); }
  };
  return (
    <div class="picker">
      <form class="search" role="search" aria-label={p.label} onSubmit={(e) => { e.preventDefault(); void search(); }}>
        <label class="visually-hidden" for={id}>{p.label}</label>
        <input id={id} type="search" value={q} placeholder={p.label} onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
        <button type="submit">Find</button>
      </form>
      <ErrorBanner error={error} />
      {found ? (
        found.length === 0 ? <p class="muted">Nothing found.</p> : (
          <ul class="picks">
            {found.map((x) => (
              <li key={x.value}>
                <span>{x.display} <span class="muted">({x.type === 'User' ? 'user' : 'group'})</span></span>
                {p.exclude?.has(x.value) ? <span class="muted">already added</span>
                  : <button type="button" class="secondary" disabled={p.busy} aria-label={`Add ${x.display}`} onClick={() => p.onPick(x)}>Add</button>}
              </li>
            ))}
          </ul>
        )
      ) : null}
    </div>
  );
}
