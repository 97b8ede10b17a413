/**
 * Strict XML for SAML assertions. @xmldom/xmldom is lenient by design (it keeps text after the root
 * element, decodes `&#0;`, accepts undeclared prefixes), and the attacks on SAML live in exactly those
 * gaps, so everything it would let through is refused here, before any signature is looked at:
 * DTDs and entities (never parsed, OWASP XXE prevention), comments (CVE-2017-11427: text split by a
 * comment), processing instructions, characters XML 1.0 does not allow, content beside the root
 * element (xmldom CVE-2022-39353, passport-saml CVE-2022-39299), undeclared prefixes and absurd nesting.
 */
import { DOMParser } from '@xmldom/xmldom';

export const SAML_ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const SAML_PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

/** Why an assertion is refused, in words safe and useful for the partner's developer (never which users exist). */
export class SamlRefusal extends Error {}

/**
 * The largest `assertion` parameter accepted, in base64url characters (24 KiB of XML): a signed assertion
 * with a certificate in KeyInfo and a few attributes is 4-10 KB; the bound keeps parsing and
 * canonicalization cheap whatever the body limit (TESSERA_BODY_LIMIT_BYTES) is.
 */
export const MAX_ASSERTION_CHARS = 32768;
/** Deeper than any assertion an IdP writes (KeyInfo/X509Data/X509Certificate is 4 levels); the canonicalizer recurses. */
const MAX_DEPTH = 32;

/**
 * RFC 7522 §2.1: base64url (RFC 4648 §5), no line breaks, no padding. Padding is tolerated: it is
 * unambiguous and libraries emit it by default (Java's Base64.getUrlEncoder()); the standard alphabet
 * (`+`, `/`) is not, because an unencoded `+` in a form body arrives as a space. Non-zero padding bits
 * (a second spelling of the same bytes) are refused. Undefined when the value is not base64url.
 */
export function decodeBase64Url(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(s)) return undefined;
  const bare = s.replace(/=+$/, '');
  if (bare.length % 4 === 1) return undefined;
  if (s.length > bare.length && s.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(bare, 'base64url');
  return bytes.toString('base64url') === bare ? bytes : undefined;
}

// XML 1.0 §2.2 Char; the `u` flag makes a lone surrogate (from `&#xD800;`) a code point outside it.
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const NODE = { element: 1, attribute: 2, text: 3, cdata: 4, entityReference: 5, pi: 7, comment: 8, document: 9, doctype: 10 } as const;

/** UTF-8 text of the decoded assertion (RFC 7522 §2.1 XML data; SAML uses UTF-8), or a refusal. */
export function utf8Text(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new SamlRefusal('the assertion is not UTF-8 text');
  }
}

/**
 * Parses one XML document and refuses everything a SAML assertion has no use for. Returns the document;
 * its only child besides an XML declaration and whitespace is the root element.
 */
export function parseStrictXml(text: string): Document {
  // Refused before parsing, so no DTD is ever processed: `<!` may only open a CDATA section.
  for (const m of text.matchAll(/<!/g)) {
    const at = text.slice(m.index, m.index + 9);
    if (at === '<![CDATA[') continue;
    if (at.startsWith('<!--')) throw new SamlRefusal('XML comments are not allowed in an assertion (a comment can split the text a signature covers)');
    throw new SamlRefusal('DOCTYPE and entity declarations are not allowed in an assertion');
  }
  if (NOT_XML_CHAR.test(text)) throw new SamlRefusal('the assertion contains characters XML does not allow');
  // xmldom silently drops text before the root element (it keeps text after it, refused below).
  if (!/^[ \t\r\n]*</.test(text)) throw new SamlRefusal(/^[ \t\r\n]*$/.test(text) ? 'the assertion is not XML' : 'the assertion has content outside its root element');
  let problem: string | undefined;
  const record = (m: unknown) => { problem ??= String(m).replace(/\s+/g, ' ').replace(/@#\[line.*$/, '').replace(/^\[xmldom \w+\]\s*/, '').replace(/^element parse error: (Error: )?(\[xmldom \w+\]\s*)?/, '').slice(0, 120); };
  let doc: Document;
  try {
    doc = new DOMParser({ errorHandler: { warning: record, error: record, fatalError: record } }).parseFromString(text, 'text/xml');
  } catch (e) {
    record((e as Error).message);
    doc = undefined as never;
  }
  if (problem !== undefined || !doc) throw new SamlRefusal(`the assertion is not well-formed XML${problem ? ` (${problem.trim()})` : ''}`);

  let root: Element | undefined;
  for (let i = 0; i < doc.childNodes.length; i++) {
    const n = doc.childNodes[i]!;
    if (n.nodeType === NODE.element) {
      if (root) throw new SamlRefusal('the assertion has more than one root element');
      root = n as Element;
    } else if (n.nodeType === NODE.text && /^[ \t\r\n]*$/.test(n.nodeValue ?? '')) {
      continue;
    } else if (n.nodeType === NODE.pi && (n as ProcessingInstruction).target === 'xml' && !root) {
      continue;
    } else {
      throw new SamlRefusal('the assertion has content outside its root element');
    }
  }
  if (!root) throw new SamlRefusal('the assertion is not XML');
  checkTree(root);
  return doc;
}

/** Every node below the root: elements, text and CDATA only; attribute and text values are XML characters (iterative: depth is bounded, not trusted). */
function checkTree(root: Element): void {
  const stack: { node: Node; depth: number }[] = [{ node: root, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    switch (node.nodeType) {
      case NODE.element: {
        if (depth > MAX_DEPTH) throw new SamlRefusal(`the assertion nests elements deeper than ${MAX_DEPTH} levels`);
        const el = node as Element;
        // Namespaces in XML 1.0 §5: xmldom keeps a prefix it cannot resolve (namespace null) and an undeclaration.
        // (The root is left to parseAssertionDocument, whose refusal names the namespace an Assertion needs.)
        if (depth > 1 && el.prefix && !el.namespaceURI) throw new SamlRefusal(`the assertion is not namespace-well-formed: the prefix ${el.prefix.slice(0, 40)} is not declared`);
        for (let i = 0; i < el.attributes.length; i++) {
          const a = el.attributes[i]!;
          if (NOT_XML_CHAR.test(a.value)) throw new SamlRefusal('the assertion contains characters XML does not allow');
          if (a.prefix && !a.namespaceURI) throw new SamlRefusal(`the assertion is not namespace-well-formed: the prefix ${a.prefix.slice(0, 40)} is not declared`);
          // §3 (NSC: No Prefix Undeclaring, XML 1.0 namespaces): a prefix is bound to a non-empty name.
          if (a.prefix === 'xmlns' && a.value === '') throw new SamlRefusal(`the assertion is not namespace-well-formed: ${a.name.slice(0, 40)}="" undeclares a prefix`);
        }
        for (let i = 0; i < el.childNodes.length; i++) stack.push({ node: el.childNodes[i]!, depth: depth + 1 });
        break;
      }
      case NODE.text:
      case NODE.cdata:
        if (NOT_XML_CHAR.test(node.nodeValue ?? '')) throw new SamlRefusal('the assertion contains characters XML does not allow');
        break;
      case NODE.comment:
        throw new SamlRefusal('XML comments are not allowed in an assertion (a comment can split the text a signature covers)');
      case NODE.pi:
        throw new SamlRefusal('processing instructions are not allowed in an assertion');
      default:
        throw new SamlRefusal('DOCTYPE and entity declarations are not allowed in an assertion');
    }
  }
}

/** Is this element `ns:localName`? (By namespace URI, never by prefix.) */
export const isElement = (n: Node | null | undefined, ns: string, localName: string): boolean =>
  !!n && n.nodeType === NODE.element && (n as Element).namespaceURI === ns && (n as Element).localName === localName;

/** The element children of an element, in order. */
export function childElements(el: Element): Element[] {
  const out: Element[] = [];
  for (let i = 0; i < el.childNodes.length; i++) {
    const n = el.childNodes[i]!;
    if (n.nodeType === NODE.element) out.push(n as Element);
  }
  return out;
}

/** Every element of a subtree, the root included, in document order. */
export function allElements(root: Element): Element[] {
  const out: Element[] = [];
  const stack: Element[] = [root];
  while (stack.length > 0) {
    const el = stack.pop()!;
    out.push(el);
    const kids = childElements(el);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  return out;
}

/**
 * The text of an element that must hold text only: the whole text (every text and CDATA node joined,
 * so nothing after a split is dropped), refused when the element has element children.
 */
export function textOnly(el: Element, what: string): string {
  let s = '';
  for (let i = 0; i < el.childNodes.length; i++) {
    const n = el.childNodes[i]!;
    if (n.nodeType === NODE.text || n.nodeType === NODE.cdata) s += n.nodeValue ?? '';
    else throw new SamlRefusal(`${what} must contain text only`);
  }
  return s;
}

/** The attribute's value, or undefined when the element does not have it (xmldom answers '' for both). */
export const attr = (el: Element, name: string): string | undefined => (el.hasAttribute(name) ? el.getAttribute(name)! : undefined);
