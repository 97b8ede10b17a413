import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../../console/src/context.js';
import { ErrorBanner, Field, InfoBanner } from '../../console/src/ui/index.js';
import { BypassCodes } from './bypass_codes.js';
import { when } from './format.js';

/**
 * The second factor (TOTP): enrolment behind the current password (MyAuthenticationFactorInitiator, then
 * MyAuthenticationFactorValidator with a first code), removal (MyAuthenticationFactorsRemover), new bypass
 * codes (MyBypassCodesRegenerator), and the state (MyAuthenticationFactors): what is enrolled, the bypass
 * codes left, whether the domain's policy requires a second factor.
 */
const schema = (name: string) => [`urn:ietf:params:scim:schemas:oracle:idcs:${name}`];

interface Factors {
  mfaRequired: boolean;
  factors: { authFactor: string; enrolledAt: string }[];
  bypassCodesRemaining: number;
  pendingEnrolment?: { authFactor: string; expiresAt: string };
}
interface Enrolment { secret: string; qrCode: string; digits: number; period: number; expiresAt: string }

/** The key in groups of four, as authenticator apps show it when typed by hand. */
const grouped = (secret: string) => secret.replace(/(.{4})(?=.)/g, '$1 ');

export function Security() {
  const { api } = useApp();
  const [state, setState] = useState<Factors>();
  const [loadError, setLoadError] = useState<unknown>();
  const [codes, setCodes] = useState<string[]>();
  const [notice, setNotice] = useState('');
  const reload = () => api.get<Factors>('MyAuthenticationFactors').then((f) => { setState(f); setLoadError(undefined); }, setLoadError);
  useEffect(() => { void reload(); }, []);
  const totp = state?.factors.find((f) => f.authFactor === 'TOTP');
  const changed = (message: string, newCodes?: string[]) => { setNotice(message); setCodes(newCodes); void reload(); };

  return (
    <section id="security" tabIndex={-1} aria-labelledby="security-title">
      <h2 id="security-title">Security</h2>
      <ErrorBanner error={loadError} />
      {notice ? <InfoBanner kind="ok">{notice}</InfoBanner> : null}
      {codes ? <BypassCodes codes={codes} onDone={() => setCodes(undefined)} /> : null}
      {state ? (
        <>
          <dl>
            <dt>Authenticator app</dt>
            <dd data-field="totp">{totp ? `Set up on ${when(totp.enrolledAt)}` : 'Not set up'}</dd>
            {totp ? <><dt>Bypass codes left</dt><dd data-field="bypass-remaining">{state.bypassCodesRemaining}</dd></> : null}
            <dt>Second factor</dt>
            <dd data-field="mfa-policy">{state.mfaRequired ? 'Required by your domain’s sign-on policy' : 'Optional in your domain'}</dd>
          </dl>
          <Enrol replacing={!!totp} onDone={(c) => changed('Your authenticator app is set up. It is asked for at your next sign-in.', c)} />
          {totp ? <NewBypassCodes onDone={(c) => changed('New bypass codes were made. The old ones no longer work.', c)} /> : null}
          {totp ? <Remove required={state.mfaRequired} onDone={() => changed('Your authenticator app was removed.')} /> : null}
        </>
      ) : loadError ? null : <p role="status">Loading…</p>}
    </section>
  );
}

/** Set up (or replace) the authenticator app: password, then QR code and key, then a first code. */
function Enrol({ replacing, onDone }: { replacing: boolean; onDone(codes: string[]): void }) {
  const { api } = useApp();
  const [password, setPassword] = useState('');
  const [enrolment, setEnrolment] = useState<Enrolment>();
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const run = async (e: Event, f: () => Promise<void>) => {
    e.preventDefault();
    setBusy(true); setError(undefined);
    try { await f(); } catch (err) { setError(err); } finally { setBusy(false); }
  };
  const start = (e: Event) => run(e, async () => {
    setEnrolment(await api.post<Enrolment>('MyAuthenticationFactorInitiator', { schemas: schema('MyAuthenticationFactorInitiator'), authFactor: 'TOTP', password }));
    setPassword(''); setCode('');
  });
  const confirm = (e: Event) => run(e, async () => {
    const r = await api.post<{ bypassCodes: string[] }>('MyAuthenticationFactorValidator', { schemas: schema('MyAuthenticationFactorValidator'), authFactor: 'TOTP', otpCode: code.trim() });
    setEnrolment(undefined); setCode('');
    onDone(r.bypassCodes);
  });
  const title = replacing ? 'Replace the authenticator app' : 'Set up an authenticator app';
  return (
    <div class="subsection" role="group" aria-labelledby="enrol-title">
      <h3 id="enrol-title">{title}</h3>
      <ErrorBanner error={error} />
      {!enrolment ? (
        <form onSubmit={(e) => void start(e)}>
          <p>{replacing ? 'A new app replaces the current one once you confirm it with a code.' : 'An app such as an authenticator on your phone gives a new six-digit code every 30 seconds; sign-in then asks for it after your password.'}</p>
          <Field label="Current password" type="password" value={password} onInput={setPassword} autoComplete="current-password" name="enrolPassword" required />
          <button type="submit" disabled={busy}>Start set-up</button>
        </form>
      ) : (
        <form onSubmit={(e) => void confirm(e)}>
          <p>Scan this QR code with your authenticator app, or type the key into it by hand.</p>
          <img class="qr" src={enrolment.qrCode} alt="QR code for your authenticator app" width={200} height={200} />
          <p>Key: <code data-field="totp-secret" aria-label="Key to type into the app">{grouped(enrolment.secret)}</code></p>
          <p class="muted">{enrolment.digits} digits, every {enrolment.period} seconds. This set-up must be confirmed before {when(enrolment.expiresAt)}.</p>
          <Field label="Code from the app" value={code} onInput={setCode} autoComplete="one-time-code" name="otpCode" required hint={`The ${enrolment.digits}-digit code the app shows now.`} />
          <div class="actions">
            <button type="button" class="secondary" onClick={() => { setEnrolment(undefined); setError(undefined); }}>Cancel</button>
            <button type="submit" disabled={busy}>Confirm</button>
          </div>
        </form>
      )}
    </div>
  );
}

function NewBypassCodes({ onDone }: { onDone(codes: string[]): void }) {
  const { api } = useApp();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setError(undefined);
    try {
      const r = await api.post<{ bypassCodes: string[] }>('MyBypassCodesRegenerator', { schemas: schema('MyBypassCodesRegenerator'), password });
      setPassword('');
      onDone(r.bypassCodes);
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return (
    <div class="subsection" role="group" aria-labelledby="bypass-title">
      <h3 id="bypass-title">New bypass codes</h3>
      <ErrorBanner error={error} />
      <form onSubmit={(e) => void submit(e)}>
        <p>Makes ten new codes; the codes you have now stop working.</p>
        <Field label="Current password" type="password" value={password} onInput={setPassword} autoComplete="current-password" name="bypassPassword" required />
        <button type="submit" disabled={busy}>Make new bypass codes</button>
      </form>
    </div>
  );
}

function Remove({ required, onDone }: { required: boolean; onDone(): void }) {
  const { api } = useApp();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setError(undefined);
    try {
      await api.post('MyAuthenticationFactorsRemover', { schemas: schema('MyAuthenticationFactorsRemover'), authFactor: 'TOTP', password });
      setPassword('');
      onDone();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return (
    <div class="subsection" role="group" aria-labelledby="remove-title">
      <h3 id="remove-title">Remove the authenticator app</h3>
      <ErrorBanner error={error} />
      {required ? <p data-field="remove-blocked">Your domain requires a second factor: the app can be replaced (above), not removed.</p> : (
        <form onSubmit={(e) => void submit(e)}>
          <p>Sign-in then asks for your password only. Your bypass codes are removed too.</p>
          <Field label="Current password" type="password" value={password} onInput={setPassword} autoComplete="current-password" name="removePassword" required />
          <button type="submit" class="danger" disabled={busy}>Remove authenticator app</button>
        </form>
      )}
    </div>
  );
}
