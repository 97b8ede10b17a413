import { useState } from 'preact/hooks';
import { useApp } from '../../console/src/context.js';
import { ErrorBanner, Field, InfoBanner } from '../../console/src/ui/index.js';

/** Password change: PUT /admin/v1/MePasswordChanger with the current password. */
const ME_PASSWORD_CHANGER = 'urn:ietf:params:scim:schemas:oracle:idcs:MePasswordChanger';

export function Password() {
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
    <section id="password" tabIndex={-1} aria-labelledby="password-title">
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
