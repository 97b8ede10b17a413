import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../../console/src/context.js';
import { ErrorBanner, InfoBanner } from '../../console/src/ui/index.js';
import { when } from './format.js';

/**
 * The user's sign-in sessions (GET /admin/v1/MySessions, `current` marks the one this page runs in): sign one
 * out (DELETE MySessions/{id}) or all the others (POST MySessionsRemover keepCurrent). Signing a session out
 * revokes the tokens issued in it, so a page running in it must sign in again.
 */
interface Session {
  id: string;
  authTime: string;
  expiresAt: string;
  amr?: string[];
  userAgent?: string;
  clientIp?: string;
  current: boolean;
}
interface ListResponse<T> { Resources?: T[] }
const REMOVER = ['urn:ietf:params:scim:schemas:tessera:2.0:MySessionsRemover'];

/** "Chrome on Linux" from a user agent string: enough to tell one's devices apart. */
export function device(ua: string | undefined): string {
  if (!ua) return 'Unknown device';
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /HeadlessChrome\//.test(ua) ? 'Headless Chrome'
    : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : undefined;
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad|iPod/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows'
    : /Mac OS X|Macintosh/.test(ua) ? 'macOS' : /Linux|X11/.test(ua) ? 'Linux' : undefined;
  if (!browser && !os) return ua.length > 60 ? `${ua.slice(0, 60)}…` : ua;
  return [browser ?? 'A browser', os].filter(Boolean).join(' on ');
}

const METHODS: Record<string, string> = { pwd: 'password', otp: 'one-time code', mfa: 'two factors' };
const method = (amr: string[] | undefined) => (amr ?? []).filter((a) => a !== 'mfa').map((a) => METHODS[a] ?? a).join(' + ') || '—';

export function Sessions() {
  const { api } = useApp();
  const [items, setItems] = useState<Session[]>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);
  const load = async () => {
    try {
      const r = await api.get<ListResponse<Session>>('MySessions');
      // This session first, then the newest sign-in first.
      setItems((r.Resources ?? []).sort((a, b) => Number(b.current) - Number(a.current) || b.authTime.localeCompare(a.authTime)));
    } catch (e) { setError(e); }
  };
  useEffect(() => { void load(); }, []);
  const act = async (f: () => Promise<string>) => {
    setBusy(true); setError(undefined); setNotice('');
    try { setNotice(await f()); await load(); } catch (e) { setError(e); } finally { setBusy(false); }
  };
  const signOut = (s: Session) => act(async () => {
    await api.del(`MySessions/${encodeURIComponent(s.id)}`);
    return `The session of ${device(s.userAgent)} signed in ${when(s.authTime)} was signed out.`;
  });
  const signOutOthers = () => act(async () => {
    const r = await api.post<{ removed: number }>('MySessionsRemover', { schemas: REMOVER, keepCurrent: true });
    return r.removed === 1 ? 'One other session was signed out.' : `${r.removed} other sessions were signed out.`;
  });
  const others = (items ?? []).filter((s) => !s.current).length;

  return (
    <section id="sessions" tabIndex={-1} aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      <p>Where you are signed in now. Sign out a session you do not know, then change your password.</p>
      <ErrorBanner error={error} />
      {notice ? <InfoBanner kind="ok">{notice}</InfoBanner> : null}
      {items ? (
        <ul class="item-list" aria-label="Your sessions">
          {items.map((s) => (
            <li key={s.id} data-session={s.id} data-current={s.current ? 'true' : 'false'}>
              <div class="item-head">
                <strong>{device(s.userAgent)}</strong>
                {s.current ? <span class="badge">This session</span> : null}
              </div>
              <dl class="item-facts">
                <dt>Signed in</dt><dd>{when(s.authTime)}</dd>
                <dt>With</dt><dd data-field="amr">{method(s.amr)}</dd>
                <dt>Address</dt><dd>{s.clientIp ?? '—'}</dd>
                <dt>Ends</dt><dd>{when(s.expiresAt)}</dd>
              </dl>
              {s.current ? null : (
                <button type="button" class="secondary" disabled={busy} aria-label={`Sign out this session: ${device(s.userAgent)}, signed in ${when(s.authTime)}`}
                  onClick={() => void signOut(s)}>Sign out this session</button>
              )}
            </li>
          ))}
          {items.length === 0 ? <li class="muted">No active sessions.</li> : null}
        </ul>
      ) : error ? null : <p role="status">Loading…</p>}
      <div class="actions start">
        <button type="button" class="secondary" disabled={busy} onClick={() => void act(async () => '')}>Refresh sessions</button>
        <button type="button" class="danger" disabled={busy || others === 0} onClick={() => void signOutOthers()}>Sign out all other sessions</button>
      </div>
    </section>
  );
}
