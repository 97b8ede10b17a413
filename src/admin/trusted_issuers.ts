/**
 * ISSUER/admin/v1/TrustedIssuers: the parties whose signed assertions the token endpoint accepts
 * (JWT bearer, RFC 7523; SAML 2.0 bearer, RFC 7522). The grants read these records through
 * repos.trustedIssuers.getByIssuer and their keys through TrustedIssuerKeys; this is where an
 * administrator writes them, and where every rule about them is checked.
 */
import { createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { algsOfJwk } from '../clientauth/assertion.js';
import { jwksUriProblem } from '../clientauth/jwks_fetcher.js';
import { rsaCostProblem } from '../crypto/jws_verify.js';
import { newId } from '../core/ids.js';
import {
  DEFAULT_ASSERTION_LIFETIME, MAX_ASSERTION_LIFETIME, MIN_ASSERTION_LIFETIME, type Jwk, type SubjectAttribute, type TrustedIssuerProtocol,
  type TrustedIssuerRecord,
} from '../core/types.js';
import type { DomainContext } from '../http/context.js';
import type { Services } from '../http/services.js';
import { SELF_SERVICE_SCOPES } from '../identity/builtins.js';
import type { DomainCatalog } from '../identity/catalog.js';
import { OIDC_SCOPES } from '../identity/scopes.js';
import { certificateJwk, parseCertificates, x5tS256 } from '../identity/trusted_issuers.js';
import { ScimError } from '../scim/errors.js';
import { TRUSTED_ISSUER_SCHEMA_ID, TrustedIssuerSchema } from '../scim/resources.js';
import { lifetime } from './apps.js';
import type { AdminCaller } from './auth.js';
import { adminScopesOf, assertNoEscalation } from './guard.js';
import { compact, iso, meta, type ResourceType, type Scim } from './resource.js';

const bad = (detail: string) => new ScimError(400, 'invalidValue', detail);

const MAX_ISSUER = 2048;
const MAX_AUDIENCE = 1000;
const MAX_KEYS = 20;
const MAX_CERTIFICATES = 20;
/** A PEM certificate with a 4096-bit key and the usual extensions is 2-3 KB; this leaves room for explanatory text. */
const MAX_PEM = 20_000;
/** RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms." */
const MIN_RSA_BITS = 2048;
/** Members a public JWK never has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** Control and invisible format characters: two issuers that look the same must be the same string. */
const INVISIBLE = /[\p{Cc}\p{Cf}]/u;

/** A client-chosen value quoted for a message, cut to a readable length. */
const shown = (v: string): string => JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function noDuplicates(name: string, values: readonly string[]): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw bad(`${name}: ${shown(v)} is listed twice`);
    seen.add(v);
  }
}

function plainText(name: string, v: string, max: number): void {
  if (v.length > max) throw bad(`${name} must be at most ${max} characters`);
  if (INVISIBLE.test(v)) throw bad(`${name} must not contain control or invisible format characters`);
  if (v.trim() !== v) throw bad(`${name} must not start or end with white space`);
}

/** A key can verify signatures only if it is usable for one of our JWS algorithms and big enough. */
function signingKeyProblem(key: KeyObject, jwk: Jwk): string | undefined {
  if (algsOfJwk(jwk).length === 0) return 'is not a signing key (RSA, EC P-256/P-384/P-521 or Ed25519/Ed448, use sig)';
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType === 'rsa' && (bits === undefined || bits < MIN_RSA_BITS)) return `is an RSA key of ${bits ?? '?'} bits (at least ${MIN_RSA_BITS}, RFC 7518 §3.3)`;
  // The grants would never verify with it (crypto/jws_verify.ts, saml/signature.ts): refused here with the reason.
  if (key.asymmetricKeyType === 'rsa') return rsaCostProblem(key);
  return undefined;
}

/** An inline JWK Set: 1 to 20 public signing keys, each importable, its `alg` fitting its type, `kid`s unique. */
function checkJwks(jwks: { keys: Jwk[] }): void {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0 || jwks.keys.length > MAX_KEYS) throw bad(`jwks.keys must hold 1 to ${MAX_KEYS} keys`);
  const kids = new Set<string>();
  jwks.keys.forEach((k, i) => {
    const at = `jwks.keys[${i}]`;
    // The schema already refuses these members; a trusted key set must never carry private material whatever the schema says.
    if (PRIVATE_MEMBERS.some((m) => m in k)) throw bad(`${at}: jwks must hold public keys only`);
    let key: KeyObject;
    try { key = createPublicKey({ key: k as never, format: 'jwk' }); } catch { throw bad(`${at} is not a valid public ${String(k.kty).slice(0, 10)} key`); }
    const p = signingKeyProblem(key, k);
    if (p) throw bad(`${at} ${p}`);
    // RFC 7517 §4.4: a key pinned to an algorithm of another key type would verify nothing.
    if (k.alg !== undefined && !algsOfJwk({ ...k, alg: undefined }).includes(k.alg)) throw bad(`${at}: alg ${k.alg} does not fit a ${k.kty} key`);
    if (Array.isArray(k.x5c) && k.x5c.length > 0) {
      // RFC 7517 §4.7: the key in the first certificate MUST match the JWK.
      let cert: X509Certificate | undefined;
      try { cert = parseCertificates([`-----BEGIN CERTIFICATE-----\n${String(k.x5c[0])}\n-----END CERTIFICATE-----`])[0]; } catch { /* below */ }
      if (!cert) throw bad(`${at}.x5c[0] is not a base64 DER X.509 certificate`);
      if (!cert.publicKey.equals(key)) throw bad(`${at}: the key of x5c[0] is not this key (RFC 7517 §4.7)`);
    }
    if (k.kid !== undefined) {
      if (kids.has(k.kid)) throw bad(`${at}: kid ${shown(k.kid)} is used twice`);
      kids.add(k.kid);
    }
  });
}

interface CertificateInfo { pem: string; cert?: X509Certificate }

/** A stored PEM string and, when it is exactly one certificate, the certificate (records written by other means may differ). */
function certificateOf(pem: string): CertificateInfo {
  try {
    const all = parseCertificates([pem]);
    return all.length === 1 ? { pem, cert: all[0] } : { pem };
  } catch { return { pem }; }
}

/**
 * One certificate per value, normalised to its PEM; each key usable for signatures; no thumbprint twice.
 * A certificate past its notAfter is refused when it is added (it is a mistake: the partner no longer
 * signs with it, or should not) but kept when it was already there, so that an edit of something else
 * does not fail the day a certificate expires. A not-yet-valid one is accepted: partners announce the
 * next certificate before they roll over to it.
 */
function checkCertificates(values: readonly string[], existing: readonly string[], now: number): string[] {
  if (values.length > MAX_CERTIFICATES) throw bad(`certificates must hold at most ${MAX_CERTIFICATES} certificates`);
  const before = new Set(existing.map((p) => certificateOf(p).cert).filter((c) => c !== undefined).map(x5tS256));
  const seen = new Set<string>();
  return values.map((pem, i) => {
    const at = `certificates[${i}]`;
    if (pem.length > MAX_PEM) throw bad(`${at} is too long`);
    let certs: X509Certificate[];
    try { certs = parseCertificates([pem]); } catch { throw bad(`${at} is not a PEM X.509 certificate`); }
    if (certs.length !== 1) throw bad(`${at} holds ${certs.length} certificates: give one per value`);
    const c = certs[0]!;
    const p = signingKeyProblem(c.publicKey, certificateJwk(c));
    if (p) throw bad(`${at}: its key ${p}`);
    const t = x5tS256(c);
    if (seen.has(t)) throw bad(`${at} is listed twice`);
    seen.add(t);
    const notAfter = Date.parse(c.validTo);
    if (!before.has(t) && !(notAfter > now)) throw bad(`${at} expired on ${Number.isNaN(notAfter) ? c.validTo : iso(notAfter)}`);
    return c.toString();
  });
}

/** RFC 7643 §2.3.5: an X.509 time (`Jan  1 00:00:00 2030 GMT`) as xsd:dateTime. */
const when = (x509Time: string): string | undefined => {
  const t = Date.parse(x509Time);
  return Number.isNaN(t) ? undefined : iso(t);
};
/** Node renders a distinguished name one RDN per line. */
const dn = (s: string): string => s.split('\n').filter(Boolean).join(', ');

/**
 * A self-service scope (Me: the user's own profile, emails and consents) needs no role, so an issuer allowed it
 * yields it for every user it names, Identity Domain Administrators included: whoever holds the issuer's key acts
 * on each of them as themselves. Changing a user needs every admin scope the user holds (guard.ts), and such an
 * issuer reaches every user, so only a caller holding every admin scope of the domain may trust or change it.
 */
function assertMayActAsAnyone(caller: AdminCaller, cat: DomainCatalog, allowedScopes: readonly string[], why: (sc: string) => string): void {
  const self = allowedScopes.find((sc) => SELF_SERVICE_SCOPES.has(sc));
  if (self === undefined) return;
  const missing = [...adminScopesOf(cat)].find((sc) => !caller.scopes.has(sc));
  if (missing !== undefined) throw new ScimError(403, undefined, `${why(self)} (its assertions act as any user, administrators included; ${missing} is not held)`);
}

export class TrustedIssuersResource implements ResourceType<TrustedIssuerRecord, undefined> {
  readonly name = 'TrustedIssuers' as const;
  readonly resourceType = 'TrustedIssuer';
  readonly schema = TrustedIssuerSchema;
  constructor(private s: Services) {}

  async view(): Promise<undefined> { return undefined; }

  // Everything here is public (keys, certificates): an administrator must be able to see what is trusted.
  render(c: DomainContext, t: TrustedIssuerRecord): Scim {
    return compact({
      schemas: [TRUSTED_ISSUER_SCHEMA_ID], id: t.id, issuer: t.issuer, protocol: t.protocol, active: t.active,
      displayName: t.displayName, description: t.description,
      jwks: t.jwks, jwksUri: t.jwksUri,
      certificates: t.certificates.length ? t.certificates.map(certificateOf).map(({ pem, cert }) => compact({
        value: pem, x5tS256: cert && x5tS256(cert), subject: cert && dn(cert.subject), issuer: cert && dn(cert.issuer),
        notBefore: cert && when(cert.validFrom), notAfter: cert && when(cert.validTo),
      })) : undefined,
      subjectAttribute: t.subjectAttribute,
      allowedScopes: t.allowedScopes.length ? t.allowedScopes : undefined,
      allowedClients: t.allowedClients.length ? t.allowedClients : undefined,
      audience: t.audience,
      maxAssertionLifetime: t.maxAssertionLifetime,
      meta: meta(c, 'TrustedIssuer', 'TrustedIssuers', t),
    });
  }

  get(c: DomainContext, id: string) { return this.s.repos.trustedIssuers.get(c.domain.id, id); }
  list(c: DomainContext) { return this.s.repos.trustedIssuers.list(c.domain.id); }

  /** A validated SCIM body -> the record's fields, with defaults and every rule; throws 400 invalidValue naming the attribute. */
  private async fields(c: DomainContext, b: Scim, caller: AdminCaller, existing?: TrustedIssuerRecord) {
    const protocol = String(b.protocol) as TrustedIssuerProtocol;
    const issuer = String(b.issuer);
    plainText('issuer', issuer, MAX_ISSUER);
    const jwks = b.jwks as { keys: Jwk[] } | undefined;
    const jwksUri = str(b.jwksUri);
    const certificates = checkCertificates(Array.isArray(b.certificates) ? (b.certificates as Scim[]).map((x) => String(x.value)) : [],
      existing?.certificates ?? [], this.s.clock.now());
    if (protocol === 'saml2') {
      // RFC 7522 §3: the Assertion is signed with XML-DSig; its keys are X.509 certificates, nothing else.
      if (jwks || jwksUri) throw bad('a saml2 issuer is verified with certificates only (no jwks or jwksUri)');
      if (certificates.length === 0) throw bad('a saml2 issuer needs certificates');
    } else {
      // RFC 7523 §3 item 9: the assertion must be verifiable; keys come only from here (RFC 8725 §3.10).
      if (!jwks && !jwksUri && certificates.length === 0) throw bad('a jwt issuer needs a key source: jwks, jwksUri or certificates');
      // As for client keys (RFC 7591 §2): one JWK Set, given by value or by reference, never both.
      if (jwks && jwksUri) throw bad('give jwks or jwksUri, not both');
      // Tessera's own tokens are never assertions, and a client's own assertions use the client's keys:
      // an issuer named like the domain or one of its clients would let these keys speak for them.
      if (issuer === c.issuer) throw bad('issuer is this identity domain itself');
      if (await this.s.repos.apps.getByClientId(c.domain.id, issuer)) throw bad('issuer is a client id of this identity domain (client assertions are verified with the client\'s own keys)');
    }
    if (jwks) checkJwks(jwks);
    if (jwksUri) {
      const p = jwksUriProblem(jwksUri, this.s.config.unsafeAllowPrivateFetch);
      if (p) throw bad(`jwksUri ${p}`);
    }
    const audience = str(b.audience);
    if (audience !== undefined) plainText('audience', audience, MAX_AUDIENCE);

    const cat = await this.s.catalogs.catalog(c.domain, { fresh: true });
    const allowedScopes = strs(b.allowedScopes);
    noDuplicates('allowedScopes', allowedScopes);
    for (const sc of allowedScopes) {
      if (!cat.scopes.has(sc) && !OIDC_SCOPES.has(sc)) throw bad(`allowedScopes: ${shown(sc)} is not defined by any resource server of this domain, nor an OpenID Connect scope`);
    }
    const allowedClients = strs(b.allowedClients);
    noDuplicates('allowedClients', allowedClients);
    for (const id of allowedClients) {
      const app = id.length <= 256 ? await this.s.repos.apps.getByClientId(c.domain.id, id) : undefined;
      if (!app?.isOAuthClient) throw bad(`allowedClients: ${shown(id)} is not an OAuth client of this domain`);
    }
    // An issuer whose assertions may yield an admin scope mints administrators (for users who hold the
    // scope): only a caller holding it may trust such an issuer.
    assertNoEscalation(caller, adminScopesOf(cat), allowedScopes, (sc) => `only a caller holding ${sc} may trust an issuer with it`);
    assertMayActAsAnyone(caller, cat, allowedScopes, (sc) => `only a caller holding every identity domain API scope may trust an issuer with ${sc}`);

    return {
      issuer, protocol, active: b.active !== false, displayName: str(b.displayName), description: str(b.description),
      jwks, jwksUri, certificates,
      subjectAttribute: (str(b.subjectAttribute) ?? 'userName') as SubjectAttribute,
      allowedScopes, allowedClients, audience,
      maxAssertionLifetime: lifetime('maxAssertionLifetime', typeof b.maxAssertionLifetime === 'number' ? b.maxAssertionLifetime : undefined,
        MIN_ASSERTION_LIFETIME, MAX_ASSERTION_LIFETIME) ?? DEFAULT_ASSERTION_LIFETIME,
    };
  }

  /**
   * Changing (a new key above all: a key swap is a takeover), disabling or deleting an issuer that may
   * yield admin scopes needs every one of them.
   */
  private async assertMayManage(c: DomainContext, caller: AdminCaller, t: TrustedIssuerRecord): Promise<void> {
    const cat = await this.s.catalogs.catalog(c.domain, { fresh: true });
    assertNoEscalation(caller, adminScopesOf(cat), t.allowedScopes, (sc) => `only a caller holding ${sc} may change a trusted issuer that allows it`);
    assertMayActAsAnyone(caller, cat, t.allowedScopes, (sc) => `only a caller holding every identity domain API scope may change a trusted issuer that allows ${sc}`);
  }

  async create(c: DomainContext, b: Scim, caller: AdminCaller) {
    const f = await this.fields(c, b, caller);
    const now = this.s.clock.now();
    const rec: TrustedIssuerRecord = compact({ id: newId(), domainId: c.domain.id, ...f, version: 1, createdAt: now, updatedAt: now }) as unknown as TrustedIssuerRecord;
    await this.s.repos.trustedIssuers.create(rec);
    return { rec };
  }

  async replace(c: DomainContext, existing: TrustedIssuerRecord, b: Scim, caller: AdminCaller) {
    await this.assertMayManage(c, caller, existing);
    const f = await this.fields(c, b, caller, existing);
    const { id, domainId, version, createdAt } = existing;
    const next = compact({ id, domainId, ...f, version, createdAt, updatedAt: this.s.clock.now() }) as unknown as TrustedIssuerRecord;
    return this.s.repos.trustedIssuers.update(next, existing.version);
  }

  async remove(c: DomainContext, existing: TrustedIssuerRecord, caller: AdminCaller) {
    await this.assertMayManage(c, caller, existing);
    if (!(await this.s.repos.trustedIssuers.delete(c.domain.id, existing.id, existing.version))) throw new ScimError(412, undefined, 'the resource was modified');
  }
}
