/**
 * The enveloped XML-DSig signature of a SAML assertion (SAML core §5; RFC 7522 §3: the Assertion MUST be signed), verified with
 * xml-crypto against the trusted issuer's certificates only. xml-crypto does the cryptography and the
 * canonicalization; the shape around it is checked here first, because every published break of
 * XML-DSig in SAML was a shape the verifier accepted and the reader then misread:
 * - exactly one Signature in the whole document, a direct child of the root Assertion, whose one
 *   Reference is `#` + the root's ID, an ID no other element carries (XSW, Somorovsky et al. 2012;
 *   Keycloak CVE-2024-8698; duplicate IDs);
 * - one SignedInfo, one Reference, one DigestValue holding only text (xml-crypto CVE-2025-29774/29775);
 * - algorithms and transforms from an allow-list: exclusive C14N, enveloped-signature, RSA with SHA-256
 *   or SHA-512 (SHA-1 only behind an UNSAFE setting), never XSLT, XPath or inclusive C14N with comments;
 * - KeyInfo is ignored: keys come from the trusted issuer (xml-crypto CVE-2024-32962).
 * What the caller may read is the canonical XML of the element the verified Reference covers,
 * returned here parsed again (node-saml CVE-2025-54419: never read the unverified document).
 */
import type { X509Certificate } from 'node:crypto';
import { ExclusiveCanonicalization, findAncestorNs, SignedXml, type SignatureAlgorithm } from 'xml-crypto';
import { rsaCostProblem } from '../crypto/jws_verify.js';
import { allElements, attr, childElements, DSIG_NS, isElement, parseStrictXml, SamlRefusal, textOnly } from './xml.js';

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

const SIGNATURE_ALGS: Record<string, { sha1?: true; keyType: 'rsa' }> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': { keyType: 'rsa' },
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': { keyType: 'rsa' },
  'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1': { keyType: 'rsa' },
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': { keyType: 'rsa', sha1: true },
};
const DIGEST_ALGS: Record<string, { sha1?: true }> = {
  'http://www.w3.org/2001/04/xmlenc#sha256': {},
  'http://www.w3.org/2001/04/xmlenc#sha512': {},
  'http://www.w3.org/2000/09/xmldsig#sha1': { sha1: true },
};
/** RSA keys below this are refused (NIST SP 800-131A: 2048 bits since 2014). */
const MIN_RSA_BITS = 2048;
/** Element names xml-crypto looks up by local name alone; anywhere but their one place they could be taken for the real ones. */
const DSIG_STRUCTURE = new Set(['Signature', 'SignedInfo', 'SignatureValue', 'CanonicalizationMethod', 'SignatureMethod', 'Reference', 'Transforms', 'Transform', 'DigestMethod', 'DigestValue']);
const ID_ATTRIBUTES = new Set(['ID', 'Id', 'id']);
const BASE64 = /^[A-Za-z0-9+/=\s]+$/;

export interface SignatureOptions {
  /** UNSAFE (TESSERA_UNSAFE_SAML_ALLOW_SHA1): accept RSA-SHA1 signatures and SHA-1 digests. */
  allowSha1: boolean;
}

/** What the shape check found: the one Signature and its algorithm, for the verification that follows. */
interface SignatureShape { signature: Element; signedInfo: Element; signatureValue: string; signatureAlg: string }

/** SAML core §5.4, checked on the parsed document before any cryptography. */
function checkShape(root: Element, rootId: string, o: SignatureOptions): SignatureShape {
  const elements = allElements(root);
  const signatures = elements.filter((e) => isElement(e, DSIG_NS, 'Signature'));
  if (signatures.length === 0) throw new SamlRefusal('the assertion is not signed: the Assertion itself must carry an enveloped ds:Signature (RFC 7522 §3)');
  if (signatures.length > 1) throw new SamlRefusal('the assertion has more than one ds:Signature; exactly one, over the Assertion, is accepted');
  const signature = signatures[0]!;
  // SAML core §5.3: the Signature is a child of the element it signs.
  if (signature.parentNode !== root) throw new SamlRefusal('the ds:Signature must be a direct child of the Assertion it signs');

  // ID uniqueness (SAML core §5.3, XML-DSig same-document references): the Reference must find the root and nothing else.
  for (const e of elements) {
    for (let i = 0; i < e.attributes.length; i++) {
      const a = e.attributes[i]!;
      if (ID_ATTRIBUTES.has(a.localName ?? a.name) && a.value === rootId && !(e === root && a.name === 'ID')) {
        throw new SamlRefusal('the Assertion ID is not unique in the document');
      }
    }
  }

  const parts = childElements(signature);
  const names = parts.map((e) => (e.namespaceURI === DSIG_NS ? e.localName : '?'));
  const expected = names.length === 3 ? ['SignedInfo', 'SignatureValue', 'KeyInfo'] : ['SignedInfo', 'SignatureValue'];
  if (names.join() !== expected.join()) {
    if (names.filter((n) => n === 'SignedInfo').length > 1) throw new SamlRefusal('the ds:Signature has more than one SignedInfo');
    throw new SamlRefusal('the ds:Signature must hold SignedInfo, SignatureValue and optionally KeyInfo, nothing else (no ds:Object)');
  }
  const [signedInfo, signatureValueElement] = parts as [Element, Element];
  const signatureValue = textOnly(signatureValueElement, 'SignatureValue');
  if (!BASE64.test(signatureValue)) throw new SamlRefusal('SignatureValue is not base64');

  const si = childElements(signedInfo);
  const siNames = si.map((e) => (e.namespaceURI === DSIG_NS ? e.localName : '?'));
  if (siNames.filter((n) => n === 'Reference').length > 1) throw new SamlRefusal('SignedInfo must hold exactly one Reference, to the Assertion');
  if (siNames.join() !== 'CanonicalizationMethod,SignatureMethod,Reference') {
    throw new SamlRefusal('SignedInfo must hold CanonicalizationMethod, SignatureMethod and one Reference');
  }
  const [c14n, sigMethod, reference] = si as [Element, Element, Element];
  if (attr(c14n, 'Algorithm') !== EXC_C14N || childElements(c14n).length > 0) {
    throw new SamlRefusal(`SignedInfo must be canonicalized with exclusive C14N (${EXC_C14N}), without comments`);
  }
  const signatureAlg = attr(sigMethod, 'Algorithm') ?? '';
  const alg = SIGNATURE_ALGS[signatureAlg];
  if (!alg || childElements(sigMethod).length > 0) throw new SamlRefusal(`signature algorithm ${signatureAlg.slice(0, 100)} is not accepted (use RSA-SHA256 or RSA-SHA512)`);
  if (alg.sha1 && !o.allowSha1) throw new SamlRefusal('RSA-SHA1 signatures are not accepted (use RSA-SHA256)');

  // SAML core §5.4.2: the Reference is `#` + the Assertion's ID (not '', not another element, not an XPointer).
  if (attr(reference, 'URI') !== `#${rootId}`) throw new SamlRefusal('the signature Reference must point at the Assertion itself (URI="#" + its ID)');
  const rc = childElements(reference);
  const rcNames = rc.map((e) => (e.namespaceURI === DSIG_NS ? e.localName : '?'));
  if (rcNames.filter((n) => n === 'DigestValue').length > 1) throw new SamlRefusal('the Reference has more than one DigestValue');
  if (rcNames.join() !== 'Transforms,DigestMethod,DigestValue') throw new SamlRefusal('the Reference must hold Transforms, DigestMethod and DigestValue');
  const [transforms, digestMethod, digestValue] = rc as [Element, Element, Element];
  // SAML core §5.4.4: the enveloped-signature transform, then exclusive C14N; nothing else (no XSLT, XPath, inclusive C14N).
  const ts = childElements(transforms);
  const tAlgs = ts.map((t) => (isElement(t, DSIG_NS, 'Transform') ? attr(t, 'Algorithm') ?? '' : '?'));
  if (tAlgs.join(' ') !== `${ENVELOPED} ${EXC_C14N}`) {
    const other = tAlgs.find((a) => a !== ENVELOPED && a !== EXC_C14N);
    throw new SamlRefusal(other !== undefined
      ? `transform ${other.slice(0, 100)} is not accepted; the Reference must use the enveloped-signature transform, then exclusive C14N`
      : 'the Reference must use the enveloped-signature transform, then exclusive C14N');
  }
  if (childElements(ts[0]!).length > 0) throw new SamlRefusal('the enveloped-signature transform takes no parameters');
  const inc = childElements(ts[1]!);
  if (inc.length > 1 || (inc.length === 1 && !isElement(inc[0], EXC_C14N, 'InclusiveNamespaces'))) {
    throw new SamlRefusal('the exclusive C14N transform takes only an InclusiveNamespaces parameter');
  }
  const digestAlg = attr(digestMethod, 'Algorithm') ?? '';
  const digest = DIGEST_ALGS[digestAlg];
  if (!digest || childElements(digestMethod).length > 0) throw new SamlRefusal(`digest algorithm ${digestAlg.slice(0, 100)} is not accepted (use SHA-256 or SHA-512)`);
  if (digest.sha1 && !o.allowSha1) throw new SamlRefusal('SHA-1 digests are not accepted (use SHA-256)');
  if (!BASE64.test(textOnly(digestValue, 'DigestValue'))) throw new SamlRefusal('DigestValue is not base64');

  // xml-crypto finds these by local name alone: one more anywhere (in KeyInfo, in Advice, in another namespace) is refused.
  const structural = new Set<Element>([signature, signedInfo, signatureValueElement, c14n, sigMethod, reference, transforms, ...ts, digestMethod, digestValue]);
  for (const e of elements) {
    if (DSIG_STRUCTURE.has(e.localName ?? '') && !structural.has(e)) throw new SamlRefusal(`the assertion has a stray ${e.localName} element outside its one signature`);
  }
  return { signature, signedInfo, signatureValue: signatureValue.replace(/\s+/g, ''), signatureAlg };
}

/** The key must be the kind the algorithm names, and strong enough (RFC 8725 §3.1 by analogy: the key decides). */
function keyFits(cert: X509Certificate, signatureAlg: string): boolean {
  const k = cert.publicKey;
  if (SIGNATURE_ALGS[signatureAlg]?.keyType !== k.asymmetricKeyType) return false;
  return (k.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS && rsaCostProblem(k) === undefined;
}

const pemOf = (cert: X509Certificate): string => cert.publicKey.export({ type: 'spki', format: 'pem' }) as string;

function verifier(cert: X509Certificate, o: SignatureOptions): SignedXml {
  // KeyInfo never supplies the key: getCertFromKeyInfo answers null, so publicCert (the trusted one) is used.
  const sx = new SignedXml({ publicCert: pemOf(cert), getCertFromKeyInfo: () => null });
  // SAML's ID attribute only (SAML core §1.3.4): checkShape made it unique among ID, Id and id, and each name
  // xml-crypto looks for is one more walk of the whole document per check.
  sx.idAttributes = ['ID'];
  // Only the allow-listed algorithms exist for this verifier, whatever xml-crypto registers by default.
  const sigAlgs = sx.SignatureAlgorithms as Record<string, unknown>;
  for (const a of Object.keys(sigAlgs)) if (!SIGNATURE_ALGS[a] || (SIGNATURE_ALGS[a]!.sha1 && !o.allowSha1)) delete sigAlgs[a];
  const hashAlgs = sx.HashAlgorithms as Record<string, unknown>;
  for (const a of Object.keys(hashAlgs)) if (!DIGEST_ALGS[a] || (DIGEST_ALGS[a]!.sha1 && !o.allowSha1)) delete hashAlgs[a];
  const c14n = sx.CanonicalizationAlgorithms as Record<string, unknown>;
  for (const a of Object.keys(c14n)) if (a !== EXC_C14N && a !== ENVELOPED) delete c14n[a];
  return sx;
}

/**
 * The exclusive canonical form (the only one checkShape lets through, without InclusiveNamespaces) of the SignedInfo,
 * as xml-crypto computes it: a copy, with the namespaces in scope from its ancestors. The path is exact (the
 * Signature is a child of the root), not a search of the document.
 */
function canonicalSignedInfo(doc: Document, signedInfo: Element): string {
  const ancestorNamespaces = findAncestorNs(doc as never, "/*/*[local-name()='Signature']/*[local-name()='SignedInfo']");
  const copy = signedInfo.cloneNode(true) as Element;
  return String(new ExclusiveCanonicalization().process(copy as never, { ancestorNamespaces, defaultNsForPrefix: SignedXml.defaultNsForPrefix } as never));
}

/**
 * Verifies the assertion's enveloped signature with one of `certs` and returns the signed element: the
 * canonical XML the verified Reference covers, parsed again. Throws SamlRefusal otherwise.
 * `text` is the exact XML `doc` was parsed from (xml-crypto parses it again, with the same parser).
 */
export function verifyAssertionSignature(doc: Document, text: string, certs: readonly X509Certificate[], o: SignatureOptions): Element {
  const root = doc.documentElement;
  const rootId = attr(root, 'ID');
  if (rootId === undefined || rootId === '') throw new SamlRefusal('the Assertion has no ID');
  const { signature, signedInfo, signatureValue, signatureAlg } = checkShape(root, rootId, o);
  const usable = certs.filter((c) => keyFits(c, signatureAlg));
  if (usable.length === 0) throw new SamlRefusal('no certificate of the trusted issuer can verify this signature algorithm (RSA keys of at least 2048 bits)');
  // xml-crypto digests the referenced element (a walk, a copy and a canonicalization of the whole assertion) before
  // it looks at the SignatureValue, once per certificate tried: an unsigned 24 KB assertion cost a partner with 20
  // certificates over a second of CPU. So the SignatureValue over the canonical SignedInfo, which is small, is checked
  // first, with each certificate; only one that verifies it goes on to xml-crypto's full check, which decides.
  const canonical = canonicalSignedInfo(doc, signedInfo);
  const alg = new (verifier(usable[0]!, o).SignatureAlgorithms[signatureAlg] as new () => SignatureAlgorithm)();
  const candidates = usable.filter((c) => {
    try { return alg.verifySignature(canonical, pemOf(c), signatureValue) === true; } catch { return false; }
  });
  for (const cert of candidates.slice(0, 1)) {
    const sx = verifier(cert, o);
    let ok: boolean;
    try {
      sx.loadSignature(signature);
      ok = sx.checkSignature(text) === true;
    } catch {
      // xml-crypto throws for a wrong signature value as well as for what it cannot process: both are "does not verify".
      ok = false;
    }
    if (!ok) continue;
    const signed = sx.getSignedReferences();
    if (signed.length !== 1) break;
    const signedRoot = parseStrictXml(signed[0]!).documentElement;
    // The canonical copy is the Assertion itself (the ID was unique): the caller reads nothing else.
    if (signedRoot.namespaceURI !== root.namespaceURI || signedRoot.localName !== root.localName || attr(signedRoot, 'ID') !== rootId) break;
    return signedRoot;
  }
  throw new SamlRefusal("the assertion's signature does not verify with the trusted issuer's certificates");
}
