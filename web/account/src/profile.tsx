import { useEffect, useState } from 'preact/hooks';
import { SCIM_PATCH } from '../../shared/api.js';
import { useApp } from '../../console/src/context.js';
import { ErrorBanner, Field, InfoBanner } from '../../console/src/ui/index.js';

/** The profile: GET/PATCH /admin/v1/Me (given, family and display name; user name and email shown). */
interface Me {
  id: string;
  userName: string;
  displayName?: string;
  name?: { givenName?: string; familyName?: string };
  emails?: { value: string; type?: string; primary?: boolean }[];
}

export function Profile() {
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
    <section id="profile" tabIndex={-1} aria-labelledby="profile-title">
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
