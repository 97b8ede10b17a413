import { useState } from 'preact/hooks';

/**
 * Bypass codes as the server returns them, once (after enrolment or regeneration): a list to copy or write
 * down. They are not kept anywhere in the page after it is dismissed.
 */
export function BypassCodes({ codes, onDone }: { codes: string[]; onDone(): void }) {
  const [copied, setCopied] = useState<'' | 'yes' | 'no'>('');
  const copy = async () => {
    try { await navigator.clipboard.writeText(codes.join('\n')); setCopied('yes'); } catch { setCopied('no'); }
  };
  return (
    <div class="banner info bypass-codes" aria-labelledby="bypass-codes-title" role="region">
      <h3 id="bypass-codes-title">Your bypass codes</h3>
      <p>Each code signs you in once when you do not have your authenticator app. They are shown only now: copy them or
        write them down and keep them somewhere safe. Any older codes no longer work.</p>
      <ol class="codes" data-field="bypass-codes">{codes.map((c) => <li key={c}><code>{c}</code></li>)}</ol>
      <div class="actions">
        <span role="status">{copied === 'yes' ? 'Copied' : copied === 'no' ? 'Copy failed: select the codes and copy them' : ''}</span>
        <button type="button" class="secondary" onClick={() => void copy()}>Copy codes</button>
        <button type="button" onClick={onDone}>I saved them</button>
      </div>
    </div>
  );
}
