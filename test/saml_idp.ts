/**
 * A SAML identity provider for tests: certificates made with openssl (no network), assertions written
 * and signed with xml-crypto the way a partner's IdP signs them (enveloped signature after the Issuer,
 * exclusive C14N, RSA-SHA256, the certificate in KeyInfo), and the knobs to break each part.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignedXml } from 'xml-crypto';

export const ALG = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  excC14nComments: 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments',
  c14n: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;
export const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

export interface Keypair { key: string; cert: string }

/** A self-signed certificate and its key, made by openssl in a subprocess. */
export function makeCert(o: { cn?: string; rsaBits?: number; ec?: boolean } = {}): Keypair {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-saml-'));
  try {
    const newkey = o.ec ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', `rsa:${o.rsaBits ?? 2048}`];
    execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', `/CN=${o.cn ?? 'idp.example.com'}`], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const iso = (ms: number) => new Date(ms).toISOString();

export interface AssertionOptions {
  now: number;
  issuer?: string | null;
  nameId?: string;
  id?: string;
  /** AudienceRestriction lists; default one list with `audience`. */
  audiences?: string[][];
  audience?: string;
  recipient?: string | null;
  method?: string;
  /** Seconds from now. */
  notOnOrAfter?: number | null;
  conditionsNotBefore?: number | null;
  conditionsNotOnOrAfter?: number | null;
  issueInstant?: number;
  authnInstant?: number | null;
  /** Raw XML added inside Conditions. */
  extraConditions?: string;
  /** Raw XML added after the Subject. */
  afterSubject?: string;
  noConditions?: boolean;
  noSubjectConfirmation?: boolean;
}

/** An unsigned SAML 2.0 Assertion as an IdP writes it for the bearer grant (RFC 7522 §3), valid for 2 minutes. */
export function assertionXml(o: AssertionOptions): string {
  const at = (s: number) => iso(o.now + s * 1000);
  const audiences = o.audiences ?? [[o.audience ?? 'http://localhost:8080/oauth2/v1/token']];
  const nooa = o.notOnOrAfter === undefined ? 120 : o.notOnOrAfter;
  const scd = [
    o.recipient === null ? '' : ` Recipient="${esc(o.recipient ?? 'http://localhost:8080/oauth2/v1/token')}"`,
    nooa === null ? '' : ` NotOnOrAfter="${at(nooa)}"`,
  ].join('');
  const cnb = o.conditionsNotBefore === undefined ? -60 : o.conditionsNotBefore;
  const cnooa = o.conditionsNotOnOrAfter === undefined ? 120 : o.conditionsNotOnOrAfter;
  return [
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${esc(o.id ?? `_${randomBytes(16).toString('hex')}`)}" Version="2.0" IssueInstant="${iso(o.issueInstant ?? o.now)}">`,
    o.issuer === null ? '' : `<saml:Issuer>${esc(o.issuer ?? 'https://idp.example.com')}</saml:Issuer>`,
    '<saml:Subject>',
    `<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">${esc(o.nameId ?? 'ada')}</saml:NameID>`,
    o.noSubjectConfirmation ? '' : `<saml:SubjectConfirmation Method="${esc(o.method ?? BEARER)}"><saml:SubjectConfirmationData${scd}/></saml:SubjectConfirmation>`,
    '</saml:Subject>',
    o.afterSubject ?? '',
    o.noConditions ? '' : [
      `<saml:Conditions${cnb === null ? '' : ` NotBefore="${at(cnb)}"`}${cnooa === null ? '' : ` NotOnOrAfter="${at(cnooa)}"`}>`,
      ...audiences.map((list) => `<saml:AudienceRestriction>${list.map((a) => `<saml:Audience>${esc(a)}</saml:Audience>`).join('')}</saml:AudienceRestriction>`),
      o.extraConditions ?? '',
      '</saml:Conditions>',
    ].join(''),
    o.authnInstant === null ? '' : `<saml:AuthnStatement AuthnInstant="${iso(o.authnInstant ?? o.now - 30_000)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
    '</saml:Assertion>',
  ].join('');
}

export interface SignOptions {
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
  canonicalization?: string;
  transforms?: string[];
  /** XPath of the signed element (default: the root Assertion). */
  reference?: string;
  /** Where the Signature goes (default: right after the root's Issuer, SAML core's place). */
  location?: { reference: string; action: 'append' | 'prepend' | 'before' | 'after' };
  /** Leave KeyInfo out (default: the signer's certificate in it, as IdPs do). */
  noKeyInfo?: boolean;
  /** Reference URI="" (the whole document) instead of `#` + the ID. */
  emptyUri?: boolean;
}

/** Signs with xml-crypto as a partner's IdP would. */
export function sign(xml: string, kp: Keypair, o: SignOptions = {}): string {
  const sx = new SignedXml({
    privateKey: kp.key, publicCert: o.noKeyInfo ? undefined : kp.cert,
    signatureAlgorithm: o.signatureAlgorithm ?? ALG.rsaSha256, canonicalizationAlgorithm: o.canonicalization ?? ALG.excC14n,
  });
  sx.addReference({ xpath: o.reference ?? "/*[local-name()='Assertion']", digestAlgorithm: o.digestAlgorithm ?? ALG.sha256, transforms: o.transforms ?? [ALG.enveloped, ALG.excC14n], isEmptyUri: o.emptyUri === true });
  sx.computeSignature(xml, { prefix: 'ds', location: o.location ?? { reference: "/*/*[local-name()='Issuer']", action: 'after' } });
  return sx.getSignedXml();
}

export const b64u = (xml: string): string => Buffer.from(xml, 'utf8').toString('base64url');

/** The Signature element of a signed document, as text. */
export const signatureOf = (signed: string): string => /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)![0];
/** The document without its Signature. */
export const withoutSignature = (signed: string): string => signed.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '');
