/**
 * Red team of the SAML signature check at the parser level (issue 8): what the verifier costs an attacker who has
 * no signature of the partner's, and what it accepts with several certificates.
 */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { checkAssertion, parseAssertionDocument, readSignedAssertion, type AssertionExpectations } from '../../../src/saml/assertion.js';
import { verifyAssertionSignature } from '../../../src/saml/signature.js';
import { SamlRefusal } from '../../../src/saml/xml.js';
import { ALG, assertionXml, BEARER, makeCert, sign } from '../../saml_idp.js';

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);
const TOKEN = 'http://localhost:8080/oauth2/v1/token';
const refused = (f: () => unknown, msg: RegExp) => assert.throws(f, (e: unknown) => e instanceof SamlRefusal && msg.test(e.message), String(msg));
const kp = makeCert();
const trusted = new X509Certificate(kp.cert);
// A partner rolling its certificates over can list up to 20 (admin/trusted_issuers.ts MAX_CERTIFICATES).
const others = Array.from({ length: 19 }, () => new X509Certificate(makeCert().cert));
const verify = (xml: string, certs: X509Certificate[]) => verifyAssertionSignature(parseAssertionDocument(xml), xml, certs, { allowSha1: false });

// How many times xml-crypto's full check (parse, find the reference, canonicalize and digest the whole assertion) runs.
let fullChecks = 0;
const original = SignedXml.prototype.checkSignature;
beforeEach(() => {
  fullChecks = 0;
  SignedXml.prototype.checkSignature = function (this: SignedXml, ...args: Parameters<typeof original>) { fullChecks++; return original.apply(this, args); } as typeof original;
});
afterEach(() => { SignedXml.prototype.checkSignature = original; });

/** Up to the 24 KB bound: a thousand elements in an Advice (which nothing reads). */
const big = (nameId = 'ada') => assertionXml({ now: NOW, nameId, afterSubject: `<saml:Advice>${'<x:a xmlns:x="urn:x"/>'.repeat(950)}</saml:Advice>` });

test('G6: a forged signature costs no full check, whatever the number of certificates (it used to cost one per certificate)', () => {
  const genuine = sign(big(), kp);
  const forged = genuine.replace(/<ds:SignatureValue>[^<]+<\/ds:SignatureValue>/, `<ds:SignatureValue>${'A'.repeat(342)}==</ds:SignatureValue>`);
  refused(() => verify(forged, [...others, trusted]), /does not verify with the trusted issuer's certificates/);
  assert.equal(fullChecks, 0);
  // Signed by the attacker's own key, with a correct digest: the same.
  const attacker = sign(big('admin'), makeCert());
  refused(() => verify(attacker, [...others, trusted]), /does not verify/);
  assert.equal(fullChecks, 0);
});

test('G6: a genuine signature runs one full check, with the certificate that verified it, wherever it is in the list', () => {
  const genuine = sign(big(), kp);
  assert.equal(readSignedAssertion(verify(genuine, [...others, trusted])).nameId, 'ada');
  assert.equal(fullChecks, 1);
  // A genuine SignedInfo grafted onto other content: the one full check finds the digest wrong.
  const grafted = genuine.replace('>ada<', '>admin<');
  refused(() => verify(grafted, [trusted, ...others]), /does not verify/);
  assert.equal(fullChecks, 2);
});

test('the signature prefilter agrees with xml-crypto on what it accepts: RSA-SHA512, a pretty-printed document, InclusiveNamespaces, a default namespace', () => {
  const cases: [string, string][] = [
    ['RSA-SHA512', sign(assertionXml({ now: NOW }), kp, { signatureAlgorithm: ALG.rsaSha512 })],
    ['pretty-printed', sign(assertionXml({ now: NOW }).replace(/></g, '>\n  <'), kp)],
    ['no KeyInfo', sign(assertionXml({ now: NOW }), kp, { noKeyInfo: true })],
    ['default namespace', sign(assertionXml({ now: NOW }).replace(/saml:/g, '').replace('xmlns:saml=', 'xmlns='), kp, { location: { reference: "/*/*[local-name()='Issuer']", action: 'after' } })],
  ];
  for (const [what, xml] of cases) {
    assert.equal(readSignedAssertion(verify(xml, [...others, trusted])).nameId, 'ada', what);
  }
});

test('G3 (parser level): the single-use record lasts until the last bearer confirmation for us could fit, capped by the Conditions', () => {
  const X: AssertionExpectations = { audiences: [TOKEN], tokenEndpoint: TOKEN, now: NOW, skewSeconds: 60, maxLifetimeSeconds: 300 };
  const conf = (attrs: string) => `<saml:SubjectConfirmation Method="${BEARER}"><saml:SubjectConfirmationData ${attrs}/></saml:SubjectConfirmation>`;
  const at = (s: number) => new Date(NOW + s * 1000).toISOString();
  const read = (extra: string, o: { conditionsNotOnOrAfter?: number | null } = {}) =>
    readSignedAssertion(parseAssertionDocument(assertionXml({ now: NOW, notOnOrAfter: 60, conditionsNotOnOrAfter: null, ...o }).replace('</saml:Subject>', `${extra}</saml:Subject>`)).documentElement);
  // A later one that fits now; one that is not valid yet; one too far ahead today that comes within the cap later.
  assert.equal(checkAssertion(read(conf(`Recipient="${TOKEN}" NotOnOrAfter="${at(290)}"`)), X), NOW + 350_000);
  assert.equal(checkAssertion(read(conf(`Recipient="${TOKEN}" NotBefore="${at(200)}" NotOnOrAfter="${at(280)}"`)), X), NOW + 340_000);
  assert.equal(checkAssertion(read(conf(`Recipient="${TOKEN}" NotOnOrAfter="${at(900)}"`)), X), NOW + 960_000);
  // One for another recipient never fits here; the Conditions' NotOnOrAfter caps them all.
  assert.equal(checkAssertion(read(conf(`Recipient="https://other.example/token" NotOnOrAfter="${at(290)}"`)), X), NOW + 120_000);
  assert.equal(checkAssertion(read(conf(`Recipient="${TOKEN}" NotOnOrAfter="${at(290)}"`), { conditionsNotOnOrAfter: 100 }), X), NOW + 160_000);
});
