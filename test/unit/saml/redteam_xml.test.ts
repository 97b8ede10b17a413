/**
 * Red team of the SAML XML reader (issue 8), parser level: namespace and encoding tricks, attacks that were already
 * refused when this was written (regression guards).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { parseAssertionDocument, readSignedAssertion } from '../../../src/saml/assertion.js';
import { verifyAssertionSignature } from '../../../src/saml/signature.js';
import { decodeBase64Url, parseStrictXml, SamlRefusal, utf8Text } from '../../../src/saml/xml.js';
import { assertionXml, makeCert, sign } from '../../saml_idp.js';

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);
const refused = (f: () => unknown, msg: RegExp, what = String(msg)) =>
  assert.throws(f, (e: unknown) => e instanceof SamlRefusal && msg.test(e.message), what);
const kp = makeCert();
const trusted = new X509Certificate(kp.cert);
const verify = (xml: string) => verifyAssertionSignature(parseAssertionDocument(xml), xml, [trusted], { allowSha1: false });
const readText = (xml: string) => readSignedAssertion(parseStrictXml(xml).documentElement);

test('namespace prefixes: the saml prefix rebound to another namespace is another element; an undeclared or emptied prefix is not XML', () => {
  const x = assertionXml({ now: NOW, nameId: 'ada' });
  // A Subject whose saml: prefix means something else is not the Subject.
  refused(() => readText(x.replace('<saml:Subject>', '<saml:Subject xmlns:saml="urn:evil">')), /not well-formed|no Subject/);
  // A forged NameID in a foreign namespace beside the real one is not read.
  const twoNames = x.replace('<saml:NameID', '<e:NameID xmlns:e="urn:evil">admin</e:NameID><saml:NameID');
  assert.equal(readText(twoNames).nameId, 'ada');
});

test('G10: an undeclared prefix, on an element or an attribute, and a prefix undeclaration (xmlns:p="") are refused (Namespaces in XML 1.0 §5, §3)', () => {
  const x = assertionXml({ now: NOW, nameId: 'ada' });
  refused(() => parseStrictXml(x.replace('<saml:NameID', '<evil:NameID').replace('</saml:NameID>', '</evil:NameID>')), /prefix evil is not declared/);
  refused(() => parseStrictXml(x.replace('<saml:NameID', '<saml:NameID evil:x="1"')), /prefix evil is not declared/);
  refused(() => parseAssertionDocument('<saml:Assertion Version="2.0" ID="_a"/>'), /must be a SAML 2.0 Assertion \(namespace/);
  refused(() => parseStrictXml(x.replace('<saml:Subject>', '<saml:Subject xmlns:saml="">')), /prefix saml is not declared|xmlns:saml="" undeclares a prefix/);
  refused(() => parseStrictXml(x.replace('<saml:Subject>', '<saml:Subject xmlns:p="">')), /xmlns:p="" undeclares a prefix/);
  // The reserved prefixes need no declaration.
  assert.equal(parseStrictXml('<a xml:lang="en" xmlns:p="urn:p" p:x="1"><p:b/></a>').documentElement.localName, 'a');
  // Another prefix for the same namespace is the same element (by namespace URI, never by prefix).
  const other = x.replace('<saml:Subject>', '<a:Subject xmlns:a="urn:oasis:names:tc:SAML:2.0:assertion">').replace('</saml:Subject>', '</a:Subject>');
  assert.equal(readText(other).nameId, 'ada');
});

test('an xml:id or another namespaced ID carrying the Assertion ID elsewhere is refused (the Reference must find one element)', () => {
  const signed = sign(assertionXml({ now: NOW, id: '_the-id' }), kp);
  refused(() => verify(signed.replace('<saml:Subject>', '<saml:Subject xml:id="_the-id">')), /ID is not unique/);
  refused(() => verify(signed.replace('<saml:Subject>', '<saml:Subject xmlns:x="urn:x" x:ID="_the-id">')), /ID is not unique/);
  refused(() => verify(signed.replace('<saml:Subject>', '<saml:Subject Id="_the-id">')), /ID is not unique/);
});

test('encodings: a UTF-8 BOM is fine; UTF-16 (with or without BOM) and Latin-1 bytes are not UTF-8; NUL bytes are refused', () => {
  const x = sign(assertionXml({ now: NOW, nameId: 'ada' }), kp);
  assert.equal(readSignedAssertion(verify(utf8Text(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(x)])))).nameId, 'ada');
  refused(() => utf8Text(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(x, 'utf16le')])), /not UTF-8/);
  refused(() => parseStrictXml(utf8Text(Buffer.from(x, 'utf16le'))), /characters XML does not allow|not XML|outside/);
  refused(() => utf8Text(Buffer.from(x.replace('>ada<', '>Jos\u00e9<'), 'latin1')), /not UTF-8/);
  refused(() => parseStrictXml(x.replace('>ada<', '>ada\u0000<')), /characters XML does not allow/);
});

test('base64url: the standard alphabet, whitespace, a data: prefix and over-long padding are refused; padding bits must be zero', () => {
  const b = Buffer.from([0xfb, 0xff, 0x3c]).toString('base64url');
  assert.equal(b, '-_88');
  assert.deepEqual(decodeBase64Url(b), Buffer.from([0xfb, 0xff, 0x3c]));
  for (const v of [`${b}===`, ` ${b}`, `${b}\n`, `data:;base64,${b}`, '+/88', '====', `${b.slice(0, -1)}%3D`]) assert.equal(decodeBase64Url(v), undefined, v);
});

test('huge and deep documents: 33 levels, a 20 000-attribute element and a DOCTYPE hidden after a CDATA are refused or cheap', () => {
  let deep = '';
  for (let i = 0; i < 33; i++) deep += '<x:d xmlns:x="urn:x">';
  for (let i = 0; i < 33; i++) deep += '</x:d>';
  refused(() => parseStrictXml(deep), /nests elements deeper than 32/);
  const t = process.hrtime.bigint();
  const many = `<a ${Array.from({ length: 2000 }, (_, i) => `a${i}="${i}"`).join(' ')}/>`;
  parseStrictXml(many);
  assert.ok(Number(process.hrtime.bigint() - t) / 1e6 < 2000, 'parsing 2000 attributes is cheap');
  refused(() => parseStrictXml('<a><![CDATA[x]]><!DOCTYPE a></a>'), /DOCTYPE/);
  refused(() => parseStrictXml('<a><![CDATA[<!DOCTYPE a [<!ENTITY x "y">]>]]></a><!ENTITY z "w">'), /DOCTYPE|outside/);
});
