import { InvalidGrant, InvalidRequest } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { acrOf, mfaPolicyOf } from '../identity/authn.js';
import { resolveUserFlowScopes, splitScope } from '../identity/scopes.js';
import { userRoleIds } from '../identity/user_roles.js';
import { issueForUser, wantsRefresh } from './user_grant.js';
import type { ClientGrantHandler, GrantRequest, GrantServices, GrantTypeInfo, TokenResponse } from './types.js';

/**
 * RFC 6749 §4.3, legacy: only for confidential clients that opted in (RFC 9700 §2.4 says MUST NOT;
 * the seeds still use it). It shares the login throttling, and it never skips a second factor: a user
 * who has one (or must enrol one) cannot get a token this way.
 */
export class PasswordGrant implements ClientGrantHandler {
  static readonly info: GrantTypeInfo = { grantType: 'password', tokenEndpoint: true, responseTypes: [], selfRegistrable: false };
  readonly info = PasswordGrant.info;
  readonly parameters = new Set(['username', 'password', 'scope']);
  readonly confidentialOnly = true;
  readonly clientAuthentication = 'required' as const;

  constructor(private readonly s: Pick<GrantServices, 'catalogs' | 'userTokens' | 'events' | 'clock' | 'repos' | 'totp' | 'throttle' | 'authn'>) {}

  async handle(req: GrantRequest): Promise<TokenResponse> {
    const { username, password } = req.params;
    if (!username || !password) throw new InvalidRequest('username and password are required');
    const requested = splitScope(req.params.scope);
    const user = await this.s.authn.checkPassword(req.domain.id, username, password.slice(0, 1024), req.clientIp, { client_id: req.client.clientId, grant_type: this.info.grantType });
    // Same answer for unknown user, wrong password, inactive and locked.
    if (!user) throw new InvalidGrant('the username or password is incorrect');
    if (await this.s.totp.hasFactor(req.domain.id, user.id) || mfaPolicyOf(req.domain, req.client) === 'always') {
      // BCP §2.4 / checklist MF-4: no path around the second factor.
      throw new InvalidGrant('this user must sign in with a second factor; use the authorization code flow');
    }
    await this.s.throttle.success(req.domain.id, user.id);
    const cat = await this.s.catalogs.catalog(req.domain);
    const resolved = resolveUserFlowScopes(cat, req.client, await userRoleIds(this.s.repos, req.domain.id, user.id), requested);
    const amr = ['pwd'];
    return issueForUser(this.s, req, {
      cat, scopes: resolved.scopes, expiry: resolved.expiry, grantId: newId(), refresh: wantsRefresh(req.client, resolved.scopes), tokensValidAfter: user.tokensValidAfter,
      auth: { userId: user.id, authTime: this.s.clock.now(), amr, acr: acrOf(amr) },
    }, this.info.grantType);
  }
}
