import { InvalidGrant, InvalidRequest, OAuthError } from '../core/errors.js';
import { GRANT_TYPES } from '../core/types.js';
import { lookupHash } from '../crypto/secrets.js';
import { readDeviceApproval } from '../device/approval.js';
import { authStillValid } from '../identity/users.js';
import { issueForUser, wantsRefresh } from './user_grant.js';
import type { ClientGrantHandler, GrantRequest, GrantServices, GrantTypeInfo, TokenResponse } from './types.js';

/** RFC 8628 §3.5 error responses of the token endpoint (HTTP 400, as RFC 6749 §5.2). */
const pending = () => new OAuthError('authorization_pending', 'the user has not yet approved the request');
const slowDown = () => new OAuthError('slow_down', 'polling too fast: wait longer between requests (the interval grew by 5 seconds)');
const denied = () => new OAuthError('access_denied', 'the user denied the request');
const expired = () => new OAuthError('expired_token', 'the device code has expired: start a new device authorization');

/**
 * RFC 8628 §3.4–3.5: the device polls with its device code until the user approved or denied it at
 * the verification page. Tokens as for the authorization code grant: the user's authentication
 * (amr/acr/auth_time) and the scopes resolved at approval, an ID token with `openid`, a refresh token
 * with `offline_access` for clients allowed refresh.
 */
export class DeviceCodeGrant implements ClientGrantHandler {
  // Public native clients (TVs, CLIs) are who this grant is for, so they may register for it themselves.
  static readonly info: GrantTypeInfo = { grantType: GRANT_TYPES.deviceCode, tokenEndpoint: true, responseTypes: [], selfRegistrable: true };
  readonly info = DeviceCodeGrant.info;
  readonly parameters = new Set(['device_code']);
  readonly confidentialOnly = false;
  readonly clientAuthentication = 'required' as const;

  constructor(private readonly s: Pick<GrantServices, 'catalogs' | 'userTokens' | 'events' | 'clock' | 'repos'>) {}

  async handle(req: GrantRequest): Promise<TokenResponse> {
    const code = req.params.device_code;
    if (!code) throw new InvalidRequest('device_code is required');
    const now = this.s.clock.now();
    const rec = code.length <= 200 ? await this.s.repos.deviceCodes.get(lookupHash(code)) : undefined;
    if (!rec || rec.domainId !== req.domain.id) throw new InvalidGrant('the device code is invalid');
    // §3.4 / checklist GR-7 (authentik CVE-2024-38371): bound to the client it was issued to. Checked
    // before anything else, so another client neither learns the code's state nor touches its polling.
    if (rec.clientId !== req.client.clientId) throw new InvalidGrant('the device code was issued to another client');
    if (rec.expiresAt <= now) throw expired();
    switch (rec.status) {
      case 'redeemed': throw new InvalidGrant('the device code was already used');
      case 'denied': throw denied();
      case 'pending': {
        // §3.5: a poll sooner than the interval is slow_down (and the interval grows, persisted); else pending.
        const poll = await this.s.repos.deviceCodes.poll(rec.deviceCodeHash, now);
        if (poll === 'slow_down') throw slowDown();
        if (poll === 'ok') throw pending();
        // Approved or denied between the read and the poll: answer from the state it reached.
        return this.handle(req);
      }
      case 'approved':
        break;
    }
    // The single-use point: of concurrent polls after approval, exactly one moves the code to redeemed.
    if (!(await this.s.repos.deviceCodes.redeem(rec.deviceCodeHash, now))) throw new InvalidGrant('the device code was already used');
    const a = readDeviceApproval(rec.approval);
    const user = rec.userId ? await this.s.repos.users.get(req.domain.id, rec.userId) : undefined;
    // An approval from a session before a new password or a deactivation is worth no more than that session.
    if (!user || !authStillValid(user, a.authTime)) throw new InvalidGrant('the user is no longer active, or their password changed since they approved');
    const cat = await this.s.catalogs.catalog(req.domain);
    return issueForUser(this.s, req, {
      cat, scopes: a.scopes, expiry: a.expiry, grantId: rec.grantId,
      auth: { userId: user.id, authTime: a.authTime, amr: a.amr, acr: a.acr, sid: a.sid },
      refresh: wantsRefresh(req.client, a.scopes), tokensValidAfter: user.tokensValidAfter,
    }, this.info.grantType);
  }
}
