import { InvalidGrant, InvalidRequest } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { acrOf, mfaPolicyOf } from '../identity/authn.js';
import { resolveUserFlowScopes, splitScope } from '../identity/scopes.js';
import { userRoleIds } from '../identity/user_roles.js';
import { issueForUser, wantsRefresh } from './user_grant.js';
import type { GrantHandler, TokenContext, TokenResponse } from './types.js';

/**
 * RFC 6749 §4.3, legacy: only for confidential clients that opted in (RFC 9700 §2.4 says MUST NOT;
 * the seeds still use it). It shares the login throttling, and it never skips a second factor: a user
 * who has one (or must enrol one) cannot get a token this way.
 */
export class PasswordGrant implements GrantHandler {
  readonly grantType = 'password';
  readonly parameters = new Set(['username', 'password', 'scope']);
  readonly confidentialOnly = true;

  async handle(ctx: TokenContext): Promise<TokenResponse> {
    const { username, password } = ctx.params;
    if (!username || !password) throw new InvalidRequest('username and password are required');
    const requested = splitScope(ctx.params.scope);
    const user = await ctx.authn.checkPassword(ctx.domain.id, username, password.slice(0, 1024), ctx.clientIp, { client_id: ctx.client.clientId, grant_type: this.grantType });
    // Same answer for unknown user, wrong password, inactive and locked.
    if (!user) throw new InvalidGrant('the username or password is incorrect');
    if (await ctx.totp.hasFactor(ctx.domain.id, user.id) || mfaPolicyOf(ctx.domain, ctx.client) === 'always') {
      // BCP §2.4 / checklist MF-4: no path around the second factor.
      throw new InvalidGrant('this user must sign in with a second factor; use the authorization code flow');
    }
    await ctx.throttle.success(ctx.domain.id, user.id);
    const cat = await ctx.catalogs.catalog(ctx.domain);
    const resolved = resolveUserFlowScopes(cat, ctx.client, await userRoleIds(ctx.repos, ctx.domain.id, user.id), requested);
    const amr = ['pwd'];
    return issueForUser(ctx, {
      cat, scopes: resolved.scopes, expiry: resolved.expiry, grantId: newId(), refresh: wantsRefresh(ctx.client, resolved.scopes), tokensValidAfter: user.tokensValidAfter,
      auth: { userId: user.id, authTime: ctx.clock.now(), amr, acr: acrOf(amr) },
    }, this.grantType);
  }
}
