import { InvalidScope, OAuthError } from '../core/errors.js';
import { num, object, opt, read, str, strs } from '../core/shape.js';
import type { AppRecord } from '../core/types.js';
import { grantedScopes } from '../authorize/consent.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import type { DomainCatalog } from '../identity/catalog.js';
import { EXPIRY_SCOPE_PREFIX } from '../identity/builtins.js';
import { OIDC_SCOPES, resolveClientScopes, resolveUserFlowScopes } from '../identity/scopes.js';
import type { DeviceCodeRecord, SessionRecord } from '../storage/ports.js';

/**
 * The user's side of the device flow (RFC 8628 §3.3): which request a user code stands for, and the
 * user's approval or denial of it. Used by the verification page and the sign-in controller.
 */

/** What an approval granted, stored on the device code and read back (checked) when the device redeems it. */
export type DeviceApproval = { authTime: number; amr: string[]; acr: string; sid?: string; scopes: string[]; expiry?: number };
const APPROVAL = object<DeviceApproval>({ authTime: num, amr: strs, acr: str, sid: opt(str), scopes: strs, expiry: opt(num) });
export const readDeviceApproval = (data: unknown): DeviceApproval => read(APPROVAL, data, 'device approval');

/**
 * The device endpoint's scope check, before any user is known: what the code flow would check of the
 * client at the authorization endpoint. OIDC scopes pass; the rest must be scopes this client may ask
 * for (its allowed scopes or its roles'). The user's roles narrow them further at approval.
 */
export function checkDeviceScopes(cat: DomainCatalog, client: AppRecord, requested: string[]): void {
  const rest = requested.filter((x) => !OIDC_SCOPES.has(x));
  if (rest.length > 0 && rest.every((x) => x.startsWith(EXPIRY_SCOPE_PREFIX)) && rest.length < requested.length) {
    resolveUserFlowScopes(cat, client, new Set(), requested);
    return;
  }
  if (requested.length > 0 && rest.length === 0) return;
  resolveClientScopes(cat, client, rest);
}

/** A refusal shown to the user at the verification page. */
export class DevicePageError extends Error {
  constructor(readonly status: number, readonly title: string, readonly detail: string) { super(detail); }
}
export const expiredCode = () => new DevicePageError(400, 'Code expired', 'This code has expired. Start again on your device to get a new one.');
export const usedCode = () => new DevicePageError(400, 'Code already used', 'This code was already used. Start again on your device to get a new one.');

/** The device request behind a device code hash, if the user may still act on it: pending, live, of an active client. */
export async function pendingDevice(s: Pick<Services, 'repos' | 'catalogs' | 'clock'>, c: DomainContext, deviceCodeHash: string): Promise<{ rec: DeviceCodeRecord; client: AppRecord }> {
  const rec = await s.repos.deviceCodes.get(deviceCodeHash);
  if (!rec || rec.domainId !== c.domain.id) throw new DevicePageError(400, 'Unknown code', 'This code is not known. Check the code on your device.');
  if (rec.expiresAt <= s.clock.now()) throw expiredCode();
  if (rec.status !== 'pending') throw usedCode();
  const client = await s.catalogs.client(c.domain.id, rec.clientId);
  if (!client?.active || !client.allowedGrants.includes('urn:ietf:params:oauth:grant-type:device_code')) {
    throw new DevicePageError(400, 'Application unavailable', 'The application on your device is no longer available.');
  }
  return { rec, client };
}

/** The scopes the user would grant the device, resolved with the user's roles; an unusable request is a page error. */
export async function deviceScopes(s: Services, c: DomainContext, rec: DeviceCodeRecord, client: AppRecord, userId: string) {
  try {
    return await grantedScopes(s, c, client, rec.scopes, userId);
  } catch (e) {
    if (e instanceof InvalidScope || (e instanceof OAuthError && e.error === 'invalid_scope')) {
      throw new DevicePageError(403, 'Access not possible', `${client.displayName} asks for access your account cannot give: ${(e as OAuthError).description}`);
    }
    throw e;
  }
}

/** The signed-in user approves: the device code becomes redeemable for this user's tokens (once, while it lives). */
export async function approveDevice(s: Services, c: DomainContext, clientIp: string, rec: DeviceCodeRecord, client: AppRecord, session: SessionRecord): Promise<void> {
  const { resolved } = await deviceScopes(s, c, rec, client, session.userId);
  const approval: DeviceApproval = {
    authTime: session.authTime, amr: session.amr, acr: session.acr, sid: session.sid, scopes: resolved.scopes,
    ...(resolved.expiry !== undefined ? { expiry: resolved.expiry } : {}),
  };
  // Conditional on pending and live: a code denied, approved or expired meanwhile stays as it is.
  if (!(await s.repos.deviceCodes.approve(rec.deviceCodeHash, session.userId, approval, s.clock.now()))) throw usedCode();
  s.events.emit({
    eventId: 'device.approved', outcome: 'success', domainId: c.domain.id, actorType: 'user', actorId: session.userId, clientIp,
    targetType: 'device_code', targetId: rec.grantId, details: { client_id: client.clientId, scope: resolved.scopes.join(' ') },
  });
}

/** The user denies: the device's next poll gets access_denied (RFC 8628 §3.5). */
export async function denyDevice(s: Services, c: DomainContext, clientIp: string, rec: DeviceCodeRecord, client: AppRecord, userId: string): Promise<void> {
  if (!(await s.repos.deviceCodes.deny(rec.deviceCodeHash, s.clock.now()))) throw usedCode();
  s.events.emit({
    eventId: 'device.denied', outcome: 'failure', domainId: c.domain.id, actorType: 'user', actorId: userId, clientIp,
    targetType: 'device_code', targetId: rec.grantId, details: { client_id: client.clientId },
  });
}
