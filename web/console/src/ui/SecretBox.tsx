import { useState } from 'preact/hooks';

/** A secret the server shows once (a client secret): shown with a copy button and a warning. */
export function SecretBox({ label, secret }: { label: string; secret: string }) {
  const [copied, setCopied] = useState<'' | 'yes' | 'no'>('');
  const copy = async () => {
    try { await navigator.clipboard.writeText(secret); setCopied('yes'); } catch { setCopied('no'); }
  };
  return (
    <div class="banner info">
      <p><strong>{label}</strong>: shown once. Copy it now; it cannot be shown again.</p>
      <div class="secret">
        <code aria-label={label}>{secret}</code>
        <button type="button" onClick={() => void copy()}>Copy</button>
        <span role="status">{copied === 'yes' ? 'Copied' : copied === 'no' ? 'Copy failed: select the text and copy it' : ''}</span>
      </div>
    </div>
  );
}
