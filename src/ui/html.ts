import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/** HTML-escape for text and attribute values (RFC 9700 §4 spirit: every reflected value is escaped). */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f6;color:#111827}
main{max-width:26rem;margin:8vh auto;padding:2rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:0 0 1rem}p{margin:.5rem 0}.muted{color:#6b7280;font-size:.9rem}
label{display:block;font-weight:600;margin:.9rem 0 .3rem}input[type=text],input[type=password]{width:100%;padding:.6rem .7rem;border:1px solid #d1d5db;border-radius:.5rem;font-size:1rem}
button{margin-top:1.2rem;padding:.6rem 1.1rem;border:0;border-radius:.5rem;background:#1d4ed8;color:#fff;font-size:1rem;cursor:pointer}
button.secondary{background:#e5e7eb;color:#111827}button+button{margin-left:.5rem}.error{background:#fef2f2;color:#991b1b;padding:.6rem .8rem;border-radius:.5rem;margin:.5rem 0}
ul{padding-left:1.2rem}code,.codes{font-family:ui-monospace,Menlo,monospace;background:#f3f4f6;padding:.1rem .3rem;border-radius:.25rem;word-break:break-all}
.qr svg{width:12rem;height:12rem;display:block;margin:.5rem auto}.codes{display:block;padding:.6rem;columns:2}
`;
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;
const AUTOSUBMIT = 'document.forms[0].submit();';
const AUTOSUBMIT_HASH = `'sha256-${createHash('sha256').update(AUTOSUBMIT).digest('base64')}'`;

/**
 * Headers for every page Tessera renders (RFC 9700 §4.16 clickjacking, §4.2.4 referrer leaks):
 * no framing, no referrer, no caching, no third-party anything. No `form-action`: browsers apply it to
 * the redirect that follows a form POST, which must reach the client's redirect URI.
 */
export function pageHeaders(reply: FastifyReply, scriptHash?: string): void {
  reply
    .header('content-security-policy', `default-src 'none'; style-src ${STYLE_HASH}; img-src data:; ${scriptHash ? `script-src ${scriptHash}; ` : ''}base-uri 'none'; frame-ancestors 'none'`)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache');
}

/** A complete page; `body` must already be escaped. */
export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`
    + `<meta name="referrer" content="no-referrer"><title>${esc(title)}</title><style>${STYLE}</style></head>`
    + `<body><main>${body}</main></body></html>`;
}

export function sendPage(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  pageHeaders(reply);
  return reply.status(status).type('text/html; charset=utf-8').send(page(title, body));
}

/** The page for a store outage (503): the same words wherever a browser meets it. */
export function unavailablePage(reply: FastifyReply): FastifyReply {
  return errorPage(reply, 503, 'Temporarily unavailable', 'Please try again in a moment.');
}

export function errorPage(reply: FastifyReply, status: number, title: string, detail: string): FastifyReply {
  return sendPage(reply, status, title, `<h1>${esc(title)}</h1><p class="error" role="alert">${esc(detail)}</p>`
    + '<p class="muted">You can close this window and start again from the application.</p>');
}

/**
 * OAuth 2.0 Form Post Response Mode: an auto-submitting form (one inline script allowed by hash),
 * with a button for browsers without JavaScript. Every value is HTML-escaped.
 */
export function formPostPage(reply: FastifyReply, action: string, params: Record<string, string>): FastifyReply {
  pageHeaders(reply, AUTOSUBMIT_HASH);
  const inputs = Object.entries(params).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Submitting...</title><style>${STYLE}</style></head>`
    + `<body><main><form method="post" action="${esc(action)}">${inputs}<noscript><p>Press continue to return to the application.</p>`
    + `<button type="submit">Continue</button></noscript></form></main><script>${AUTOSUBMIT}</script></body></html>`;
  return reply.status(200).type('text/html; charset=utf-8').send(html);
}
