import { ApiError } from '../../../shared/api.js';

/** An error as a banner: a 403 says the user's roles do not allow it; SCIM detail and scimType are shown. */
export function ErrorBanner({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const forbidden = error instanceof ApiError && error.forbidden;
  const text = error instanceof Error ? error.message : String(error);
  const scimType = error instanceof ApiError ? error.scimType : undefined;
  return (
    <div class="banner error" role="alert">
      {forbidden ? <strong>Not allowed: </strong> : null}
      {text}
      {scimType ? <span class="muted"> ({scimType})</span> : null}
    </div>
  );
}

export function InfoBanner({ children, kind = 'info' }: { children: preact.ComponentChildren; kind?: 'info' | 'ok' }) {
  return <div class={`banner ${kind}`} role="status">{children}</div>;
}
