import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64Url, parseStrictXml, SamlRefusal, textOnly, utf8Text } from '../../../src/saml/xml.js';
import { parseAssertionDocument, unverifiedIssuer } from '../../../src/saml/assertion.js';

const refused = (f: () => unknown, msg: RegExp) => assert.throws(f, (e: unknown) => e instanceof SamlRefusal && msg.test(e.message), String(msg));
const A = 'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';

test('base64url: RFC 4648 §5 without line breaks; padding tolerated; the standard alphabet, junk and non-zero padding bits refused', () => {
  const xml = '<saml:Assertion/>?>';
  const bare = Buffer.from(xml).toString('base64url');
  assert.equal(decodeBase64Url(bare)?.toString(), xml);
  const padded = Buffer.from('ab').toString('base64url') + '=';
  assert.equal(decodeBase64Url(padded)?.toString(), 'ab', 'correct padding is unambiguous: tolerated');
  assert.equal(decodeBase64Url('YWI')?.toString(), 'ab');
  for (const bad of [
    Buffer.from(xml).toString('base64'), // '+' and '/'
    `${bare.slice(0, 10)}\n${bare.slice(10)}`, // line break
    `${bare} `, 'YWI==', 'YW=I', 'Y', 'YWJ', // YWJ: non-zero padding bits, a second spelling of "ab"
    '', '====', 'YWI%3D',
  ]) assert.equal(decodeBase64Url(bad), undefined, JSON.stringify(bad));
});

test('UTF-8 only: invalid byte sequences are refused', () => {
  assert.equal(utf8Text(Buffer.from('<a>é</a>')), '<a>é</a>');
  refused(() => utf8Text(Buffer.from([0x3c, 0x61, 0xff, 0x3e])), /not UTF-8/);
});

test('strict XML: one root element; whitespace and an XML declaration around it are fine', () => {
  assert.equal(parseStrictXml('<?xml version="1.0" encoding="UTF-8"?>\n<a><b>x</b></a>\n').documentElement.localName, 'a');
  assert.equal(parseStrictXml('  <a/>  ').documentElement.localName, 'a');
  assert.equal(textOnly(parseStrictXml('<a>x<![CDATA[<y>]]>z</a>').documentElement, 'a'), 'x<y>z', 'CDATA is text');
});

test('strict XML: DOCTYPE, entities, comments, processing instructions are refused before or while parsing (SA-3, SA-7)', () => {
  const cases: [string, RegExp][] = [
    ['<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', /DOCTYPE and entity declarations/],
    ['<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>', /DOCTYPE/],
    ['<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><a>&lol2;</a>', /DOCTYPE/],
    ['<a><!ENTITY x "y"></a>', /DOCTYPE and entity/],
    ['<!doctype a><a/>', /DOCTYPE/],
    ['<a>admin@corp.example<!---->.evil.example</a>', /comments are not allowed/],
    ['<a/><!-- after -->', /comments are not allowed/],
    ['<a><?php x ?></a>', /processing instructions/],
    ['<a>&unknown;</a>', /not well-formed/],
  ];
  for (const [xml, msg] of cases) refused(() => parseStrictXml(xml), msg);
});

test('strict XML: two root elements, trailing text or elements, and no element at all are refused (SA-4, xmldom CVE-2022-39353)', () => {
  const cases: [string, RegExp][] = [
    ['<a/><b/>', /more than one root|not well-formed/],
    ['<a/>trailing', /content outside its root element/],
    ['text<a/>', /content outside|not well-formed/],
    ['not xml at all', /content outside|not XML/],
    ['', /not XML/],
    ['<a', /not well-formed/],
    ['<a b="1" b="2"/>', /not well-formed/],
    ['<a></b>', /not well-formed/],
  ];
  for (const [xml, msg] of cases) refused(() => parseStrictXml(xml), msg);
});

test('strict XML: characters XML 1.0 does not allow, raw or as character references, are refused (never U+0000 to PostgreSQL)', () => {
  for (const xml of ['<a>\u0000</a>', '<a>&#0;</a>', '<a>&#x1;</a>', '<a b="&#x0;"/>', '<a>&#xD800;</a>', '<a>\u0001</a>', '<a>&#xFFFE;</a>']) {
    refused(() => parseStrictXml(xml), /characters XML does not allow|not well-formed/);
  }
  assert.equal(parseStrictXml('<a>&#x9;&#xA;&#x1F600;</a>').documentElement.textContent, '\t\n\u{1F600}');
});

test('strict XML: nesting is bounded (the canonicalizer recurses)', () => {
  refused(() => parseStrictXml(`${'<a>'.repeat(40)}${'</a>'.repeat(40)}`), /deeper than 32/);
  assert.ok(parseStrictXml(`${'<a>'.repeat(30)}${'</a>'.repeat(30)}`));
  refused(() => parseStrictXml(`${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}`), /deeper than 32/);
});

test('textOnly: the whole text of an element, never a fragment; child elements refused', () => {
  const doc = parseStrictXml('<a><n>admin@corp.example<![CDATA[.evil.example]]></n><m>x<b/>y</m></a>');
  const [n, m] = [doc.getElementsByTagName('n')[0]!, doc.getElementsByTagName('m')[0]!];
  assert.equal(textOnly(n, 'NameID'), 'admin@corp.example.evil.example');
  refused(() => textOnly(m, 'NameID'), /NameID must contain text only/);
});

test('the root must be a SAML 2.0 Assertion: a Response, an EncryptedAssertion, another namespace or version are refused with a clear message', () => {
  const cases: [string, RegExp][] = [
    [`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><saml:Assertion ${A}/></samlp:Response>`, /not a <samlp:Response>/],
    [`<saml:EncryptedAssertion ${A}><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>`, /encrypted assertions are not accepted/],
    ['<Assertion xmlns="urn:oasis:names:tc:SAML:1.0:assertion" Version="2.0"/>', /must be a SAML 2.0 Assertion/],
    ['<saml:Assertion Version="2.0"/>', /must be a SAML 2.0 Assertion/],
    [`<saml:Assertion ${A} Version="1.1"/>`, /Version must be 2.0/],
  ];
  for (const [xml, msg] of cases) refused(() => parseAssertionDocument(xml), msg);
});

test('the unverified Issuer: exactly one, a direct child, entity format, text only', () => {
  const issuerOf = (inner: string) => unverifiedIssuer(parseAssertionDocument(`<saml:Assertion ${A} Version="2.0" ID="_1">${inner}</saml:Assertion>`));
  assert.equal(issuerOf('<saml:Issuer>https://idp.example.com</saml:Issuer>'), 'https://idp.example.com');
  assert.equal(issuerOf('<saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">https://idp</saml:Issuer>'), 'https://idp');
  refused(() => issuerOf(''), /exactly one Issuer/);
  refused(() => issuerOf('<saml:Issuer>a</saml:Issuer><saml:Issuer>b</saml:Issuer>'), /exactly one Issuer/);
  refused(() => issuerOf('<saml:Subject><saml:Issuer>nested</saml:Issuer></saml:Subject>'), /exactly one Issuer/);
  refused(() => issuerOf('<saml:Issuer Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">a@b</saml:Issuer>'), /Format must be/);
  refused(() => issuerOf('<saml:Issuer></saml:Issuer>'), /Issuer is empty/);
  refused(() => issuerOf(`<saml:Issuer>${'x'.repeat(1025)}</saml:Issuer>`), /longer than 1024/);
});
