/**
 * A SAML 2.0 assertion for the bearer grant (RFC 7522 §3), read from the element the verified signature
 * covers and from nothing else: direct children of that element only, by namespace and local name,
 * never a document-wide search. Then the RFC 7522 §3 checks, with messages a partner's developer can act on.
 */
import { attr, childElements, isElement, parseStrictXml, SAML_ASSERTION_NS, SAML_PROTOCOL_NS, SamlRefusal, textOnly } from './xml.js';

const NS = SAML_ASSERTION_NS;
export const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const ENTITY_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity';
/** Longest identifier or URI taken from an assertion (an ID, Issuer, NameID, Audience, Recipient). */
const MAX_VALUE = 1024;

export interface BearerConfirmation { recipient?: string; notBefore?: number; notOnOrAfter?: number }

export interface SamlAssertion {
  id: string;
  issuer: string;
  /** epoch ms */
  issueInstant: number;
  nameId: string;
  conditions: { notBefore?: number; notOnOrAfter?: number; audienceRestrictions: string[][] };
  /** The SubjectConfirmations whose Method is bearer (RFC 7522 §3), with their SubjectConfirmationData. */
  bearer: BearerConfirmation[];
  /** Methods of the other SubjectConfirmations (holder-of-key, sender-vouches), for the error message. */
  otherMethods: string[];
  /** epoch ms of the (first) AuthnStatement's AuthnInstant, when there is one (RFC 7522 §3: when the issuer authenticated the subject). */
  authnInstant?: number;
}

/**
 * Parses the decoded `assertion` parameter and checks that its root is a SAML 2.0 Assertion
 * (RFC 7522 §2.1: one `<saml:Assertion>`, not a Response, not an EncryptedAssertion).
 */
export function parseAssertionDocument(text: string): Document {
  const doc = parseStrictXml(text);
  const root = doc.documentElement;
  if (isElement(root, NS, 'EncryptedAssertion')) {
    throw new SamlRefusal('encrypted assertions are not accepted: RFC 7522 §2.1 takes a signed <saml:Assertion> (TLS protects it in transit)');
  }
  if (isElement(root, SAML_PROTOCOL_NS, 'Response')) {
    throw new SamlRefusal('send the signed <saml:Assertion> itself, not a <samlp:Response> (RFC 7522 §2.1)');
  }
  if (!isElement(root, NS, 'Assertion')) throw new SamlRefusal(`the root element must be a SAML 2.0 Assertion (namespace ${NS})`);
  if (attr(root, 'Version') !== '2.0') throw new SamlRefusal('the Assertion Version must be 2.0');
  return doc;
}

/** The Issuer of a parsed, not yet verified Assertion: only to find the trusted issuer whose certificates verify it. */
export function unverifiedIssuer(doc: Document): string {
  return issuerOf(doc.documentElement);
}

function issuerOf(root: Element): string {
  const issuers = childElements(root).filter((e) => isElement(e, NS, 'Issuer'));
  if (issuers.length !== 1) throw new SamlRefusal('the Assertion must have exactly one Issuer (RFC 7522 §3 item 1)');
  const format = attr(issuers[0]!, 'Format');
  if (format !== undefined && format !== ENTITY_FORMAT) throw new SamlRefusal(`the Issuer Format must be ${ENTITY_FORMAT} (SAML core §2.2.5)`);
  return value(textOnly(issuers[0]!, 'Issuer'), 'Issuer');
}

function value(s: string, what: string): string {
  if (s.length === 0) throw new SamlRefusal(`${what} is empty`);
  if (s.length > MAX_VALUE) throw new SamlRefusal(`${what} is longer than ${MAX_VALUE} characters`);
  return s;
}

/** SAML core §1.3.3: xs:dateTime in UTC, no time zone other than Z. */
function instant(el: Element, name: string, what: string): number | undefined {
  const s = attr(el, name);
  if (s === undefined) return undefined;
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?Z$/.exec(s);
  const t = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0) : NaN;
  // Date.UTC rolls 2026-02-30 over to March: a value that does not read back the same is not a date.
  if (!m || !Number.isFinite(t) || new Date(t).toISOString().slice(0, 19) !== s.slice(0, 19)) {
    throw new SamlRefusal(`${what} ${name} must be a UTC xs:dateTime such as 2026-01-31T12:00:00Z`);
  }
  return t;
}

const only = (el: Element, localName: string, what: string, required: boolean): Element | undefined => {
  const found = childElements(el).filter((e) => isElement(e, NS, localName));
  if (found.length > 1) throw new SamlRefusal(`the ${what} has more than one ${localName}`);
  if (required && found.length === 0) throw new SamlRefusal(`the ${what} has no ${localName}`);
  return found[0];
};

/** Reads the assertion from its signed element (the canonical XML the verified Reference covers, parsed). */
export function readSignedAssertion(signed: Element): SamlAssertion {
  const id = value(attr(signed, 'ID') ?? '', 'the Assertion ID');
  const issueInstant = instant(signed, 'IssueInstant', 'the Assertion');
  if (issueInstant === undefined) throw new SamlRefusal('the Assertion has no IssueInstant');

  // RFC 7522 §3 item 2: the Subject names the resource owner.
  const subject = only(signed, 'Subject', 'Assertion', true)!;
  if (childElements(subject).some((e) => isElement(e, NS, 'EncryptedID'))) throw new SamlRefusal('an EncryptedID subject is not accepted; send a plain NameID');
  const nameId = value(textOnly(only(subject, 'NameID', 'Subject', true)!, 'NameID'), 'NameID');

  const bearer: BearerConfirmation[] = [];
  const otherMethods: string[] = [];
  for (const sc of childElements(subject).filter((e) => isElement(e, NS, 'SubjectConfirmation'))) {
    const method = attr(sc, 'Method') ?? '';
    if (method !== BEARER) { otherMethods.push(method.slice(0, 100)); continue; }
    const data = only(sc, 'SubjectConfirmationData', 'SubjectConfirmation', false);
    bearer.push(data ? {
      recipient: attr(data, 'Recipient'), notBefore: instant(data, 'NotBefore', 'SubjectConfirmationData'),
      notOnOrAfter: instant(data, 'NotOnOrAfter', 'SubjectConfirmationData'),
    } : {});
  }

  // RFC 7522 §3 item 3: Conditions with an AudienceRestriction naming this authorization server.
  const conditions = only(signed, 'Conditions', 'Assertion', true)!;
  const audienceRestrictions: string[][] = [];
  for (const c of childElements(conditions)) {
    if (isElement(c, NS, 'AudienceRestriction')) {
      audienceRestrictions.push(childElements(c).filter((a) => isElement(a, NS, 'Audience')).map((a) => textOnly(a, 'Audience')));
    } else if (isElement(c, NS, 'OneTimeUse') || isElement(c, NS, 'ProxyRestriction')) {
      // OneTimeUse: every assertion is single use here. ProxyRestriction limits re-issuing assertions, which this grant does not do.
    } else {
      // SAML core §2.5.1: a condition that is not understood makes the assertion Indeterminate.
      throw new SamlRefusal(`the condition ${c.localName ?? '?'} is not understood (SAML core §2.5.1)`);
    }
  }

  const authn = childElements(signed).find((e) => isElement(e, NS, 'AuthnStatement'));
  return {
    id, issuer: issuerOf(signed), issueInstant, nameId, bearer, otherMethods,
    conditions: { notBefore: instant(conditions, 'NotBefore', 'Conditions'), notOnOrAfter: instant(conditions, 'NotOnOrAfter', 'Conditions'), audienceRestrictions },
    authnInstant: authn ? instant(authn, 'AuthnInstant', 'AuthnStatement') : undefined,
  };
}

export interface AssertionExpectations {
  /** Audience values that identify this authorization server: the token endpoint URL, the issuer, the trusted issuer's `audience`. */
  audiences: readonly string[];
  /** This domain's token endpoint URL, the only accepted Recipient. */
  tokenEndpoint: string;
  /** epoch ms */
  now: number;
  skewSeconds: number;
  /** The trusted issuer's maxAssertionLifetime (seconds): how far ahead the bearer NotOnOrAfter may be. */
  maxLifetimeSeconds: number;
}

/**
 * RFC 7522 §3 and SAML core §2.5.1.2: audience, bearer confirmation, validity window.
 * Returns until when (epoch ms) the assertion could be accepted, for its single-use record.
 */
export function checkAssertion(a: SamlAssertion, x: AssertionExpectations): number {
  const skew = x.skewSeconds * 1000;
  const c = a.conditions;
  if (a.issueInstant > x.now + skew) throw new SamlRefusal('the Assertion IssueInstant is in the future');
  if (c.notBefore !== undefined && c.notBefore > x.now + skew) throw new SamlRefusal('the assertion is not yet valid (Conditions NotBefore)');
  if (c.notOnOrAfter !== undefined && c.notOnOrAfter <= x.now - skew) throw new SamlRefusal('the assertion has expired (Conditions NotOnOrAfter)');

  // SAML core §2.5.1.4: every AudienceRestriction must name us (any one of its Audiences).
  if (c.audienceRestrictions.length === 0) throw new SamlRefusal('the Conditions have no AudienceRestriction (RFC 7522 §3 item 3)');
  if (!c.audienceRestrictions.every((list) => list.some((aud) => x.audiences.includes(aud)))) {
    throw new SamlRefusal(`the Audience must name this authorization server: its token endpoint URL ${x.tokenEndpoint} or its issuer`);
  }

  // RFC 7522 §3: a bearer SubjectConfirmation for our token endpoint, still valid, not too long. An expired confirmation
  // invalidates only itself, so another one may still fit.
  if (a.bearer.length === 0) {
    throw new SamlRefusal(a.otherMethods.length > 0
      ? `the SubjectConfirmation Method must be ${BEARER} (found ${a.otherMethods.join(', ')})`
      : `the Subject has no SubjectConfirmation with Method ${BEARER}`);
  }
  let problem = '';
  for (const b of a.bearer) {
    if (b.recipient !== x.tokenEndpoint) problem ||= `the SubjectConfirmationData Recipient must be the token endpoint URL ${x.tokenEndpoint}`;
    else if (b.notOnOrAfter === undefined) problem ||= 'the bearer SubjectConfirmationData has no NotOnOrAfter';
    else if (b.notOnOrAfter <= x.now - skew) problem ||= 'the assertion has expired (SubjectConfirmationData NotOnOrAfter)';
    else if (b.notOnOrAfter > x.now + x.maxLifetimeSeconds * 1000 + skew) {
      problem ||= `the bearer SubjectConfirmationData NotOnOrAfter is more than ${x.maxLifetimeSeconds} seconds ahead`;
    } else if (b.notBefore !== undefined && b.notBefore > x.now + skew) problem ||= 'the assertion is not yet valid (SubjectConfirmationData NotBefore)';
    else return acceptableUntil(a, x.tokenEndpoint) + skew;
  }
  throw new SamlRefusal(problem);
}

/**
 * The last instant (epoch ms, before the skew) at which any bearer confirmation of the assertion could fit, for its
 * single-use record: not only the one that fits now, since another for our token endpoint may fit later (a later
 * NotOnOrAfter, a NotBefore still ahead, a NotOnOrAfter that comes within the lifetime cap as time passes), and the
 * assertion must stay spent until none can. Capped by the Conditions' NotOnOrAfter.
 */
function acceptableUntil(a: SamlAssertion, tokenEndpoint: string): number {
  let last = -Infinity;
  for (const b of a.bearer) if (b.recipient === tokenEndpoint && b.notOnOrAfter !== undefined) last = Math.max(last, b.notOnOrAfter);
  return Math.min(last, a.conditions.notOnOrAfter ?? Infinity);
}
