import { useEffect, useState } from 'preact/hooks';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { CheckField, ErrorBanner, FieldSet, InfoBanner, InputField, SelectField } from '../ui/index.js';
import type { PageDef } from './types.js';

/** GET/PATCH /admin/v1/Settings (src/admin/domains.ts). */
export interface DomainSettings {
  jwksPublic: boolean;
  accessTokenTtl: number;
  mfaPolicy: string;
  passwordPolicy: { minLength: number; maxLength: number; historyCount: number; rejectCommon: boolean };
}
type Form = { jwksPublic: boolean; accessTokenTtl: string; mfaPolicy: string; minLength: string; maxLength: string; historyCount: string; rejectCommon: boolean };

const toForm = (s: DomainSettings): Form => ({
  jwksPublic: s.jwksPublic, accessTokenTtl: String(s.accessTokenTtl), mfaPolicy: s.mfaPolicy,
  minLength: String(s.passwordPolicy.minLength), maxLength: String(s.passwordPolicy.maxLength), historyCount: String(s.passwordPolicy.historyCount),
  rejectCommon: s.passwordPolicy.rejectCommon,
});
/** A number field as the API wants it: an integer when it reads as one, else the text (the server answers 400 naming the setting). */
const num = (v: string): number | string => (/^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v);

/** Only what changed goes to PATCH, so an untouched setting keeps following the server's default. */
export function settingsPatch(was: DomainSettings, f: Form): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.jwksPublic !== was.jwksPublic) out.jwksPublic = f.jwksPublic;
  if (f.accessTokenTtl !== String(was.accessTokenTtl)) out.accessTokenTtl = num(f.accessTokenTtl);
  if (f.mfaPolicy !== was.mfaPolicy) out.mfaPolicy = f.mfaPolicy;
  const pp: Record<string, unknown> = {};
  for (const k of ['minLength', 'maxLength', 'historyCount'] as const) if (f[k] !== String(was.passwordPolicy[k])) pp[k] = num(f[k]);
  if (f.rejectCommon !== was.passwordPolicy.rejectCommon) pp.rejectCommon = f.rejectCommon;
  if (Object.keys(pp).length) out.passwordPolicy = pp;
  return out;
}

function Settings() {
  const { api, cfg } = useApp();
  const [was, setWas] = useState<DomainSettings>();
  const [form, setForm] = useState<Form>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.get<DomainSettings>('Settings').then((s) => { setWas(s); setForm(toForm(s)); }, setError);
  }, []);
  const set = <K extends keyof Form>(k: K) => (v: Form[K]) => { setSaved(false); setForm((f) => f && { ...f, [k]: v }); };
  const save = async () => {
    if (!was || !form) return;
    const body = settingsPatch(was, form);
    setError(undefined); setSaved(false);
    if (Object.keys(body).length === 0) { setSaved(true); return; }
    setBusy(true);
    try {
      const s = await api.patch<DomainSettings>('Settings', body);
      setWas(s); setForm(toForm(s)); setSaved(true);
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Domain settings</h1>
      <p class="muted">Settings of the identity domain {cfg.domain}. Changes apply to new sign-ins, passwords and tokens.</p>
      <ErrorBanner error={error} />
      {saved ? <InfoBanner kind="ok">The settings were saved.</InfoBanner> : null}
      {form ? (
        <form onSubmit={(e) => { e.preventDefault(); void save(); }}>
          <FieldSet legend="Password policy">
            <InputField type="number" name="minLength" label="Minimum length" value={form.minLength} onInput={set('minLength')} hint="8 to 256 characters" />
            <InputField type="number" name="maxLength" label="Maximum length" value={form.maxLength} onInput={set('maxLength')} hint="64 to 1024 characters" />
            <InputField type="number" name="historyCount" label="Previous passwords refused" value={form.historyCount} onInput={set('historyCount')} hint="0 to 24" />
            <CheckField name="rejectCommon" label="Refuse common and breached passwords" checked={form.rejectCommon} onChange={set('rejectCommon')} />
          </FieldSet>
          <FieldSet legend="Multi-factor authentication">
            <SelectField name="mfaPolicy" label="MFA policy" value={form.mfaPolicy} onChange={set('mfaPolicy')} options={[
              { value: 'requested', label: 'Requested: users who enrolled a factor are asked for it' },
              { value: 'always', label: 'Always: every user needs a second factor' },
              { value: 'never', label: 'Never: passwords only' },
            ]} />
          </FieldSet>
          <FieldSet legend="Tokens and keys">
            <InputField type="number" name="accessTokenTtl" label="Access token lifetime (seconds)" value={form.accessTokenTtl} onInput={set('accessTokenTtl')} />
            <CheckField name="jwksPublic" label="Publish the JWKS without authentication" checked={form.jwksPublic} onChange={set('jwksPublic')}
              hint="Off: verifiers must present a client token to read the signing keys." />
          </FieldSet>
          <div class="actions start"><button type="submit" disabled={busy}>Save settings</button></div>
        </form>
      ) : error ? null : <p class="muted">Loading…</p>}
    </section>
  );
}

export const settingsPage: PageDef = { path: '/settings', title: 'Settings', allowed: (s) => s.can(SCOPES.settings), component: Settings };
