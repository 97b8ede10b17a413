import type { FastifyReply } from 'fastify';
import { esc, sendPage } from './html.js';

/** The built-in sign-in pages: plain HTML forms that work without JavaScript. */
export interface PageBase {
  action: string;
  csrf: string;
  clientName: string;
  error?: string;
}

const hidden = (p: PageBase, op: string) => `<input type="hidden" name="csrf" value="${esc(p.csrf)}"><input type="hidden" name="op" value="${esc(op)}">`;
const alert = (p: PageBase) => (p.error ? `<p class="error" role="alert">${esc(p.error)}</p>` : '');

export function loginPage(reply: FastifyReply, p: PageBase & { username?: string; domainName: string }, status = 200): FastifyReply {
  return sendPage(reply, status, 'Sign in', `<h1>Sign in</h1><p class="muted">to continue to <strong>${esc(p.clientName)}</strong></p>${alert(p)}`
    + `<form method="post" action="${esc(p.action)}" autocomplete="on">${hidden(p, 'credSubmit')}`
    + `<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus value="${esc(p.username ?? '')}">`
    + '<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>'
    + '<button type="submit">Sign in</button></form>'
    + `<form method="post" action="${esc(p.action)}">${hidden(p, 'cancel')}<button type="submit" class="secondary">Cancel</button></form>`);
}

export function mfaPage(reply: FastifyReply, p: PageBase, status = 200): FastifyReply {
  return sendPage(reply, status, 'Verification code', `<h1>Enter your verification code</h1>${alert(p)}`
    + '<p class="muted">Open your authenticator app and enter the 6-digit code for this account.</p>'
    + `<form method="post" action="${esc(p.action)}">${hidden(p, 'otp')}`
    + '<label for="otpCode">Verification code</label><input type="text" id="otpCode" name="otpCode" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required autofocus>'
    + '<button type="submit">Verify</button></form>'
    + `<form method="post" action="${esc(p.action)}">${hidden(p, 'bypass')}`
    + '<label for="bypassCode">Or use a bypass code</label><input type="text" id="bypassCode" name="bypassCode" autocomplete="off" required>'
    + '<button type="submit" class="secondary">Use bypass code</button></form>');
}

export function enrollPage(reply: FastifyReply, p: PageBase & { secret: string; otpauthUri: string; qrSvg: string }, status = 200): FastifyReply {
  const grouped = p.secret.replace(/(.{4})/g, '$1 ').trim();
  return sendPage(reply, status, 'Set up two-step verification', `<h1>Set up two-step verification</h1>${alert(p)}`
    + '<p>Scan this QR code with an authenticator app, or enter the key by hand.</p>'
    // The SVG comes from the qrcode library (no user input in it).
    + `<div class="qr" aria-hidden="true">${p.qrSvg}</div><p>Key: <code id="secret">${esc(grouped)}</code></p>`
    + `<form method="post" action="${esc(p.action)}">${hidden(p, 'enroll')}`
    + '<label for="otpCode">Code from the app</label><input type="text" id="otpCode" name="otpCode" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required autofocus>'
    + '<button type="submit">Confirm</button></form>');
}

export function recoveryCodesPage(reply: FastifyReply, p: PageBase & { codes: string[] }): FastifyReply {
  return sendPage(reply, 200, 'Your bypass codes', '<h1>Save your bypass codes</h1>'
    + '<p>Each code signs you in once if you lose your authenticator. They are shown only now.</p>'
    + `<p class="codes" id="codes">${p.codes.map((c) => `${esc(c)}<br>`).join('')}</p>`
    + `<form method="post" action="${esc(p.action)}">${hidden(p, 'continue')}<button type="submit">I saved them, continue</button></form>`);
}

export function consentPage(reply: FastifyReply, p: PageBase & { scopes: { value: string; description?: string }[]; userName: string }): FastifyReply {
  const items = p.scopes.map((s) => `<li>${esc(s.description ?? s.value)}${s.description ? ` <span class="muted">(${esc(s.value)})</span>` : ''}</li>`).join('');
  return sendPage(reply, 200, 'Allow access?', `<h1>Allow <strong>${esc(p.clientName)}</strong> access?</h1>`
    + `<p class="muted">Signed in as ${esc(p.userName)}</p><p>The application asks to:</p><ul id="scopes">${items}</ul>`
    + `<form method="post" action="${esc(p.action)}">${hidden(p, 'consent')}`
    + '<button type="submit" name="decision" value="allow">Allow</button>'
    + '<button type="submit" name="decision" value="deny" class="secondary">Deny</button></form>');
}

export function logoutConfirmPage(reply: FastifyReply, p: { action: string; csrf: string; fields: Record<string, string> }): FastifyReply {
  const fields = Object.entries(p.fields).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('');
  return sendPage(reply, 200, 'Sign out', '<h1>Sign out?</h1><p>Do you want to sign out?</p>'
    + `<form method="post" action="${esc(p.action)}"><input type="hidden" name="csrf" value="${esc(p.csrf)}">${fields}`
    + '<button type="submit" name="confirm" value="yes">Sign out</button></form>');
}

export function messagePage(reply: FastifyReply, title: string, text: string): FastifyReply {
  return sendPage(reply, 200, title, `<h1>${esc(title)}</h1><p>${esc(text)}</p>`);
}

/** RFC 8628 §3.3: the verification page, where the user types the code the device shows. */
export function deviceCodePage(reply: FastifyReply, p: { action: string; csrf: string; userCode?: string; domainName: string; error?: string }, status = 200): FastifyReply {
  return sendPage(reply, status, 'Connect a device', `<h1>Connect a device</h1><p class="muted">${esc(p.domainName)}</p>${p.error ? `<p class="error" role="alert">${esc(p.error)}</p>` : ''}`
    + '<p>Enter the code shown on your device.</p>'
    + `<form method="post" action="${esc(p.action)}"><input type="hidden" name="csrf" value="${esc(p.csrf)}">`
    + `<label for="user_code">Code</label><input type="text" id="user_code" name="user_code" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="20" required autofocus value="${esc(p.userCode ?? '')}">`
    + '<button type="submit">Continue</button></form>');
}

/**
 * RFC 8628 §5.4: the user confirms explicitly, seeing which application asks for what, so a code sent
 * by a phisher is not approved unawares.
 */
export function deviceConfirmPage(reply: FastifyReply, p: PageBase & { scopes: { value: string; description?: string }[]; userName: string }): FastifyReply {
  const items = p.scopes.map((s) => `<li>${esc(s.description ?? s.value)}${s.description ? ` <span class="muted">(${esc(s.value)})</span>` : ''}</li>`).join('');
  return sendPage(reply, 200, 'Connect this device?', `<h1>Allow <strong id="client">${esc(p.clientName)}</strong> on your device?</h1>`
    + `<p class="muted">Signed in as ${esc(p.userName)}</p><p>Only approve if you started this yourself, on a device in front of you.</p>`
    + `<p>The application asks to:</p><ul id="scopes">${items}</ul>`
    + `<form method="post" action="${esc(p.action)}">${hidden(p, 'consent')}`
    + '<button type="submit" name="decision" value="allow">Approve</button>'
    + '<button type="submit" name="decision" value="deny" class="secondary">Deny</button></form>');
}
