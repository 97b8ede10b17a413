import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { checkAssertion, parseAssertionDocument, readSignedAssertion, type AssertionExpectations } from '../../../src/saml/assertion.js';
import { verifyAssertionSignature } from '../../../src/saml/signature.js';
import { parseStrictXml, SamlRefusal } from '../../../src/saml/xml.js';
import { assertionXml, makeCert, sign, type AssertionOptions } from '../../saml_idp.js';

const refused = (f: () => unknown, msg: RegExp) => assert.throws(f, (e: unknown) => e instanceof SamlRefusal && msg.test(e.message), String(msg));
const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);
const TOKEN = 'http://localhost:8080/oauth2/v1/token';
const X: AssertionExpectations = { audiences: [TOKEN, 'http://localhost:8080'], tokenEndpoint: TOKEN, now: NOW, skewSeconds: 60, maxLifetimeSeconds: 300 };
const read = (o: Partial<AssertionOptions> = {}) => readSignedAssertion(parseStrictXml(assertionXml({ now: NOW, ...o })).documentElement);
const kp = makeCert();

test('reads the Assertion: ID, Issuer, IssueInstant, NameID, conditions, bearer confirmations, AuthnInstant', () => {
  const a = read({ id: '_x1', nameId: 'ada@example.com', audiences: [[TOKEN, 'urn:b'], ['urn:c']] });
  assert.deepEqual(a, {
    id: '_x1', issuer: 'https://idp.example.com', issueInstant: NOW, nameId: 'ada@example.com', otherMethods: [],
    bearer: [{ recipient: TOKEN, notBefore: undefined, notOnOrAfter: NOW + 120_000 }],
    conditions: { notBefore: NOW - 60_000, notOnOrAfter: NOW + 120_000, audienceRestrictions: [[TOKEN, 'urn:b'], ['urn:c']] },
    authnInstant: NOW - 30_000,
  });
});

test('times are UTC xs:dateTime: fractions read, offsets and impossible dates refused', () => {
  const at = (v: string) => readSignedAssertion(parseStrictXml(assertionXml({ now: NOW }).replace(/IssueInstant="[^"]+"/, `IssueInstant="${v}"`)).documentElement).issueInstant;
  assert.equal(at('2026-01-31T12:00:00.5Z'), NOW + 500);
  assert.equal(at('2026-01-31T12:00:00.123456789Z'), NOW + 123);
  for (const bad of ['2026-01-31T12:00:00+01:00', '2026-01-31T12:00:00', '2026-02-30T12:00:00Z', '2026-13-01T00:00:00Z', '2026-01-31T24:00:00Z', '2026-01-31 12:00:00Z', 'now']) {
    refused(() => at(bad), /IssueInstant must be a UTC xs:dateTime/);
  }
});

test('the Subject: one NameID of text only; EncryptedID refused; other confirmation methods recorded for the message', () => {
  refused(() => read({ nameId: '' }), /NameID is empty/);
  const xml = assertionXml({ now: NOW });
  const el = (s: string) => readSignedAssertion(parseStrictXml(s).documentElement);
  refused(() => el(xml.replace('</saml:NameID>', '</saml:NameID><saml:NameID>b</saml:NameID>')), /more than one NameID/);
  refused(() => el(xml.replace(/<saml:NameID[^>]*>ada<\/saml:NameID>/, '')), /no NameID/);
  refused(() => el(xml.replace('>ada<', '><b>ada</b><')), /NameID must contain text only/);
  refused(() => el(xml.replace('<saml:Subject>', '<saml:Subject><saml:EncryptedID/>')), /EncryptedID/);
  refused(() => el(xml.replace(/<saml:Subject>[\s\S]*<\/saml:Subject>/, '')), /no Subject/);
  refused(() => el(xml.replace(/<saml:Conditions[\s\S]*<\/saml:Conditions>/, '$&$&')), /more than one Conditions/);
  const hok = read({ method: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key' });
  assert.deepEqual([hok.bearer, hok.otherMethods], [[], ['urn:oasis:names:tc:SAML:2.0:cm:holder-of-key']]);
});

test('checkAssertion: accepted inside the window, with the skew; answers until when it could be accepted (for its single-use record)', () => {
  assert.equal(checkAssertion(read(), X), NOW + 120_000 + 60_000);
  assert.equal(checkAssertion(read({ conditionsNotOnOrAfter: 30 }), X), NOW + 30_000 + 60_000, 'the earlier end');
  assert.equal(checkAssertion(read({ conditionsNotOnOrAfter: null }), X), NOW + 120_000 + 60_000);
  assert.ok(checkAssertion(read({ conditionsNotBefore: 59 }), X));
  assert.ok(checkAssertion(read({ notOnOrAfter: -59, conditionsNotOnOrAfter: -59 }), X));
  assert.ok(checkAssertion(read({ notOnOrAfter: 360 }), X), 'maxAssertionLifetime plus the skew');
});

test('checkAssertion: each RFC 7522 §3 failure has its own message', () => {
  const cases: [Partial<AssertionOptions>, RegExp][] = [
    [{ conditionsNotBefore: 61 }, /not yet valid \(Conditions NotBefore\)/],
    [{ conditionsNotOnOrAfter: -60 }, /expired \(Conditions NotOnOrAfter\)/],
    [{ notOnOrAfter: -60, conditionsNotOnOrAfter: 100 }, /expired \(SubjectConfirmationData NotOnOrAfter\)/],
    [{ notOnOrAfter: 361 }, /more than 300 seconds ahead/],
    [{ notOnOrAfter: null }, /no NotOnOrAfter/],
    [{ issueInstant: NOW + 61_000 }, /IssueInstant is in the future/],
    [{ audiences: [] }, /no AudienceRestriction/],
    [{ audiences: [['urn:other']] }, /Audience must name this authorization server/],
    [{ audiences: [[TOKEN], ['urn:other']] }, /Audience must name/],
    [{ audiences: [[]] }, /Audience must name/],
    [{ recipient: `${TOKEN}/` }, /Recipient must be the token endpoint URL/],
    [{ recipient: null }, /Recipient must be/],
    [{ noSubjectConfirmation: true }, /no SubjectConfirmation with Method/],
    [{ method: 'urn:oasis:names:tc:SAML:2.0:cm:sender-vouches' }, /Method must be urn:oasis:names:tc:SAML:2.0:cm:bearer \(found urn:oasis:names:tc:SAML:2.0:cm:sender-vouches\)/],
  ];
  for (const [o, msg] of cases) refused(() => checkAssertion(read(o), X), msg);
  refused(() => read({ extraConditions: '<saml:Condition/>' }), /condition Condition is not understood/);
  assert.ok(read({ extraConditions: '<saml:OneTimeUse/><saml:ProxyRestriction Count="0"/>' }));
});

test('checkAssertion: with several bearer confirmations, one that fits is enough', () => {
  const xml = assertionXml({ now: NOW, recipient: 'https://other.example.com/token' });
  const two = xml.replace('</saml:SubjectConfirmation>', `</saml:SubjectConfirmation><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData Recipient="${TOKEN}" NotOnOrAfter="${new Date(NOW + 60_000).toISOString()}"/></saml:SubjectConfirmation>`);
  assert.equal(checkAssertion(readSignedAssertion(parseStrictXml(two).documentElement), X), NOW + 60_000 + 60_000);
  refused(() => checkAssertion(readSignedAssertion(parseStrictXml(xml).documentElement), X), /Recipient must be/);
});

test('verifyAssertionSignature returns the canonical signed copy, not the parsed document; KeyInfo plays no part', () => {
  const trusted = new X509Certificate(kp.cert);
  const other = makeCert();
  const xml = sign(assertionXml({ now: NOW }), kp, { noKeyInfo: true });
  const doc = parseAssertionDocument(xml);
  const signed = verifyAssertionSignature(doc, xml, [new X509Certificate(other.cert), trusted], { allowSha1: false });
  assert.notEqual(signed.ownerDocument, doc, 'a new document, parsed from what the Reference covers');
  assert.equal(signed.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature').length, 0, 'the enveloped signature is not part of it');
  assert.equal(readSignedAssertion(signed).nameId, 'ada');
  // The attacker's own certificate in KeyInfo verifies their signature, but only the trusted one counts.
  const forged = sign(assertionXml({ now: NOW, nameId: 'admin' }), other);
  refused(() => verifyAssertionSignature(parseAssertionDocument(forged), forged, [trusted], { allowSha1: false }), /does not verify with the trusted issuer's certificates/);
  refused(() => verifyAssertionSignature(parseAssertionDocument(xml), xml, [], { allowSha1: false }), /no certificate of the trusted issuer/);
});
