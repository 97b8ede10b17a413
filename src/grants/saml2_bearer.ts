import type { X509Certificate } from 'node:crypto';
import { InvalidGrant, InvalidRequest } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { TrustedIssuerRecord } from '../core/types.js';
import { CertificateProblem } from '../identity/trusted_issuers.js';
import { splitScope } from '../identity/scopes.js';
import { userRoleIds } from '../identity/user_roles.js';
import { authStillValid } from '../identity/users.js';
import { checkAssertion, parseAssertionDocument, readSignedAssertion, unverifiedIssuer, type SamlAssertion } from '../saml/assertion.js';
import { verifyAssertionSignature } from '../saml/signature.js';
import { decodeBase64Url, MAX_ASSERTION_CHARS, SamlRefusal, utf8Text } from '../saml/xml.js';
import { assertedUser, assertionScopes, assertIssuerAllowsClient, unknownSubject, useAssertionOnce } from './assertion_grant.js';
import { issueForUser, wantsRefresh } from './user_grant.js';
import type { ClientGrantHandler, GrantRequest, GrantServices, GrantTypeInfo, TokenResponse } from './types.js';

/**
 * RFC 7522 §2.1: a SAML 2.0 Assertion from a trusted issuer (protocol saml2), exchanged for a user token.
 * §3.1 makes client authentication optional; here a confidential client must authenticate, so a bearer
 * assertion seen in transit or in a log is worth nothing without the client's credentials, and the
 * client must be allowed the grant and the issuer. Every check of §3 refuses with invalid_grant and says which one.
 */
export class Saml2BearerGrant implements ClientGrantHandler {
  static readonly info: GrantTypeInfo = { grantType: 'urn:ietf:params:oauth:grant-type:saml2-bearer', tokenEndpoint: true, responseTypes: [], selfRegistrable: true };
  readonly info = Saml2BearerGrant.info;
  readonly parameters = new Set(['assertion', 'scope']);
  readonly confidentialOnly = true;
  readonly clientAuthentication = 'required' as const;

  constructor(private readonly s: Pick<GrantServices, 'catalogs' | 'userTokens' | 'events' | 'clock' | 'repos' | 'trustedIssuerKeys' | 'config'>) {}

  async handle(req: GrantRequest): Promise<TokenResponse> {
    const raw = req.params.assertion;
    if (!raw) throw new InvalidRequest('assertion is required');
    // Bounded before anything is decoded or parsed.
    if (raw.length > MAX_ASSERTION_CHARS) throw new InvalidGrant(`the assertion is longer than ${MAX_ASSERTION_CHARS} characters`);
    const bytes = decodeBase64Url(raw);
    if (!bytes) throw new InvalidRequest('assertion must be base64url (RFC 4648 §5: A-Z a-z 0-9 - _) without line breaks (RFC 7522 §2.1)');
    const requested = splitScope(req.params.scope);
    const now = this.s.clock.now();

    const { assertion: a, trusted, acceptUntil } = await this.verified(req, bytes, now);
    assertIssuerAllowsClient(trusted, req.client);

    // RFC 7522 §3 item 2: the Subject names the resource owner, through the issuer's subjectAttribute.
    const user = await assertedUser(this.s.repos, req.domain.id, trusted.subjectAttribute, a.nameId);
    // The user's tokens were revoked (new password, reactivation) after the IdP authenticated them: that sign-in is spent.
    const authTime = Math.min(a.authnInstant ?? a.issueInstant, now);
    if (!user || !authStillValid(user, authTime)) throw unknownSubject();
    const cat = await this.s.catalogs.catalog(req.domain);
    const resolved = assertionScopes(cat, req.client, await userRoleIds(this.s.repos, req.domain.id, user.id), trusted.allowedScopes, requested);

    // RFC 7522 §3 MAY, adopted (checklist SA-9): the ID once per issuer until the assertion expires. Used last, so a
    // request refused for its scope can be retried with the same assertion.
    await useAssertionOnce(this.s.repos, req.domain.id, `saml:${trusted.id}`, a.id, acceptUntil, now);
    return issueForUser(this.s, req, {
      cat, scopes: resolved.scopes, expiry: resolved.expiry, grantId: newId(), refresh: wantsRefresh(req.client, resolved.scopes),
      tokensValidAfter: user.tokensValidAfter,
      // The IdP authenticated the user; Tessera does not know how, so it claims neither amr nor acr.
      auth: { userId: user.id, authTime, amr: [], acr: '', trustedIssuerId: trusted.id },
    }, this.info.grantType);
  }

  /** Parse, find the trusted issuer, verify the signature, read the signed element, check it (RFC 7522 §3). */
  private async verified(req: GrantRequest, bytes: Buffer, now: number): Promise<{ assertion: SamlAssertion; trusted: TrustedIssuerRecord; acceptUntil: number }> {
    try {
      const text = utf8Text(bytes);
      const doc = parseAssertionDocument(text);
      // Unverified until the signature checks out: used only to pick the certificates that must verify it.
      const issuer = unverifiedIssuer(doc);
      const trusted = await this.s.repos.trustedIssuers.getByIssuer(req.domain.id, 'saml2', issuer);
      // RFC 7522 §3 item 1; a disabled issuer is no issuer (checklist JB-1, Keycloak CVE-2026-1486, by analogy).
      if (!trusted || !trusted.active) throw new SamlRefusal('the assertion Issuer is not an active trusted SAML issuer of this identity domain');
      let certs: X509Certificate[];
      try { certs = this.s.trustedIssuerKeys.samlCertificates(trusted); } catch (e) {
        if (e instanceof CertificateProblem) throw new SamlRefusal('the trusted issuer has no usable certificate; ask the administrator to check it');
        throw e;
      }
      const signed = verifyAssertionSignature(doc, text, certs, { allowSha1: this.s.config.unsafeSamlAllowSha1 });
      const assertion = readSignedAssertion(signed);
      // The signed copy is the element whose Issuer picked the certificates; a difference means a confused reader, not a partner.
      if (assertion.issuer !== issuer) throw new SamlRefusal('the signed Issuer differs from the one read');
      const acceptUntil = checkAssertion(assertion, {
        audiences: [req.tokenEndpoint, req.issuer, ...(trusted.audience ? [trusted.audience] : [])], tokenEndpoint: req.tokenEndpoint,
        now, skewSeconds: this.s.config.clockSkewSeconds, maxLifetimeSeconds: trusted.maxAssertionLifetime,
      });
      return { assertion, trusted, acceptUntil };
    } catch (e) {
      if (e instanceof SamlRefusal) throw new InvalidGrant(e.message);
      throw e;
    }
  }
}
