import { useEffect, useState } from 'preact/hooks';
import { SCIM_PATCH } from '../../shared/api.js';
import { useApp } from '../../console/src/context.js';
import { ErrorBanner, Field, InfoBanner } from '../../console/src/ui/index.js';

/**
 * The account page: the signed-in user's profile (GET/PATCH /admin/v1/Me) and password change
 * (PUT /admin/v1/MePasswordChanger). Everything goes through the admin API with the user's token,
 * which carries only the self-service Me scope.
 */
interface Me {
  id: string;
  userName: string;
  displayName?: string;
  name?: { givenName?: string; familyName?: string };
  emails?: { value: string; type?: string; primary?: boolean }[];
}

const ME_PASSWORD_CHANGER = 'urn:ietf:params:scim:schemas:oracle:idcs:MePasswordChanger';

function Profile() {
  const { api } = useApp();
  const [me, setMe] = useState<Me>();
  const [given, setGiven] = useState('');
  const [family, setFamily] = useState('');
  const [display, setDisplay] = useState('');
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const load = (m: Me) => { setMe(m); setGiven(m.name?.givenName ?? ''); setFamily(m.name?.familyName ?? ''); setDisplay(m.displayName ?? ''); };
  useEffect(() => { api.get<Me>('Me').then(load, setError); }, []);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setError(undefined); setSaved(false);
    try {
      const ops = [
        { op: 'replace', path: 'name.givenName', value: given },
        { op: 'replace', path: 'name.familyName', value: family },
        { op: 'replace', path: 'displayName', value: display },
      ];
      load(await api.patch<Me>('Me', { schemas: [SCIM_PATCH], Operations: ops }));
      setSaved(true);
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return (
    <section aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <ErrorBanner error={error} />
      {saved ? <InfoBanner kind="ok">Your profile was saved.</InfoBanner> : null}
      {me ? (
        <form onSubmit={(e) => void save(e)}>
          <dl>
            <dt>User name</dt><dd data-field="userName">{me.userName}</dd>
            <dt>Email</dt><dd data-field="email">{(me.emails?.find((x) => x.primary) ?? me.emails?.[0])?.value ?? '—'}</dd>
          </dl>
          <Field label="Given name" value={given} onInput={setGiven} autoComplete="given-name" name="givenName" />
          <Field label="Family name" value={family} onInput={setFamily} autoComplete="family-name" name="familyName" />
          <Field label="Display name" value={display} onInput={setDisplay} autoComplete="nickname" name="displayName" />
          <button type="submit" disabled={busy}>Save profile</button>
        </form>
      ) : error ? null : <p role="status">Loading…</p>}
    </section>
  );
}

function Password() {
  const { api } = useApp();
  const [oldPassword, setOld] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const mismatch = confirm !== '' && confirm !== password ? 'The two new passwords differ.' : undefined;
  const change = async (e: Event) => {
    e.preventDefault();
    if (mismatch || !password) return;
    setBusy(true); setError(undefined); setDone(false);
    try {
      await api.put('MePasswordChanger', { schemas: [ME_PASSWORD_CHANGER], oldPassword, password });
      setDone(true); setOld(''); setPassword(''); setConfirm('');
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return (
    <section aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <ErrorBanner error={error} />
      {done ? <InfoBanner kind="ok">Your password was changed.</InfoBanner> : null}
      <form onSubmit={(e) => void change(e)}>
        <Field label="Current password" type="password" value={oldPassword} onInput={setOld} autoComplete="current-password" name="oldPassword" required />
        <Field label="New password" type="password" value={password} onInput={setPassword} autoComplete="new-password" name="password" required />
        <Field label="New password again" type="password" value={confirm} onInput={setConfirm} autoComplete="new-password" name="confirm" required error={mismatch} />
        <button type="submit" disabled={busy || !!mismatch}>Change password</button>
      </form>
    </section>
  );
}

export function Account() {
  const app = useApp();
  const who = app.userLabel;
  return (
    <div>
      <header class="topbar">
        <span class="brand">Your account <span class="muted">· {app.cfg.domain}</span></span>
        <span class="who">{who}</span>
        <button type="button" class="secondary" onClick={() => void app.signOut()}>Sign out</button>
      </header>
      <main class="account">
        <h1>Your account</h1>
        <Profile />
        <Password />
      </main>
    </div>
  );
}
