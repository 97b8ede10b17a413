#!/usr/bin/env node
/**
 * A partner's SAML identity provider in one file: writes a SAML 2.0 Assertion for the RFC 7522 bearer
 * grant, signs it the way IdPs do (enveloped XML-DSig after the Issuer, exclusive C14N, RSA-SHA256,
 * the certificate in KeyInfo) with xml-crypto, and prints it base64url-encoded, ready for
 * `assertion=` at the token endpoint.
 *
 *   node examples/saml-assertion.mjs --key idp.key --cert idp.crt --issuer https://idp.example.com \
 *     --subject ada --token-endpoint http://localhost:8080/oauth2/v1/token [--audience URI] [--lifetime 120]
 *
 * The token endpoint URL is the bearer confirmation's Recipient and, unless --audience is given, the
 * Audience (RFC 7522 §3).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SignedXml } from 'xml-crypto';

const { values: a } = parseArgs({
  options: {
    key: { type: 'string' }, cert: { type: 'string' }, issuer: { type: 'string' }, subject: { type: 'string' },
    'token-endpoint': { type: 'string' }, audience: { type: 'string' }, lifetime: { type: 'string', default: '120' },
  },
});
for (const k of ['key', 'cert', 'issuer', 'subject', 'token-endpoint']) {
  if (!a[k]) { console.error(`missing --${k}`); process.exit(2); }
}
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const now = Date.now();
const at = (seconds) => new Date(now + seconds * 1000).toISOString();
const lifetime = Number(a.lifetime);
const endpoint = esc(a['token-endpoint']);

const xml = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_${randomBytes(16).toString('hex')}" Version="2.0" IssueInstant="${at(0)}">`
  + `<saml:Issuer>${esc(a.issuer)}</saml:Issuer>`
  + `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">${esc(a.subject)}</saml:NameID>`
  + `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData Recipient="${endpoint}" NotOnOrAfter="${at(lifetime)}"/></saml:SubjectConfirmation></saml:Subject>`
  + `<saml:Conditions NotBefore="${at(-60)}" NotOnOrAfter="${at(lifetime)}"><saml:AudienceRestriction><saml:Audience>${a.audience ? esc(a.audience) : endpoint}</saml:Audience></saml:AudienceRestriction></saml:Conditions>`
  + `<saml:AuthnStatement AuthnInstant="${at(0)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
  + '</saml:Assertion>';

const sig = new SignedXml({
  privateKey: readFileSync(a.key), publicCert: readFileSync(a.cert, 'utf8'),
  signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
});
sig.addReference({
  xpath: "/*[local-name()='Assertion']", digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
});
// SAML core §5.4.1: the Signature follows the Issuer.
sig.computeSignature(xml, { prefix: 'ds', location: { reference: "/*/*[local-name()='Issuer']", action: 'after' } });
process.stdout.write(`${Buffer.from(sig.getSignedXml(), 'utf8').toString('base64url')}\n`);
