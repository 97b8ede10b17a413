/**
 * X.509 client certificates for RFC 8705: what a request presented, the certificate's subject DN and
 * subjectAltName entries, and how a registered value is compared with them (§2.1.2).
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, id_ce_subjectAltName, SubjectAlternativeName } from '@peculiar/asn1-x509';
import ipaddr from 'ipaddr.js';

/** A client certificate that came with the request: on Tessera's own TLS connection, or forwarded by a trusted proxy. */
export interface PresentedCertificate {
  cert: X509Certificate;
  /** RFC 8705 §3.1: base64url SHA-256 of the DER certificate, the `x5t#S256` confirmation. */
  thumbprint: string;
  /** The chain was verified against TESSERA_TLS_CLIENT_CA (and the certificate is within its validity period). */
  trusted: boolean;
  source: 'tls' | 'header';
}

export const certificateThumbprint = (der: Buffer): string => createHash('sha256').update(der).digest('base64url');

/** RFC 8705 §2.1.2: the client metadata naming the one certificate field a tls_client_auth client is known by. */
export const TLS_SUBJECT_FIELDS = {
  tls_client_auth_subject_dn: 'tlsClientAuthSubjectDn',
  tls_client_auth_san_dns: 'tlsClientAuthSanDns',
  tls_client_auth_san_uri: 'tlsClientAuthSanUri',
  tls_client_auth_san_ip: 'tlsClientAuthSanIp',
  tls_client_auth_san_email: 'tlsClientAuthSanEmail',
} as const;
export type TlsSubjectMetadata = keyof typeof TLS_SUBJECT_FIELDS;
export type TlsSubjectField = (typeof TLS_SUBJECT_FIELDS)[TlsSubjectMetadata];
export const TLS_SUBJECT_ATTRIBUTES: readonly TlsSubjectField[] = Object.values(TLS_SUBJECT_FIELDS);

// RFC 4514 §3 names, and the others certificates commonly carry.
const SHORT_NAMES: Record<string, string> = {
  cn: '2.5.4.3', l: '2.5.4.7', st: '2.5.4.8', o: '2.5.4.10', ou: '2.5.4.11', c: '2.5.4.6', street: '2.5.4.9',
  dc: '0.9.2342.19200300.100.1.25', uid: '0.9.2342.19200300.100.1.1', serialnumber: '2.5.4.5', title: '2.5.4.12',
  sn: '2.5.4.4', gn: '2.5.4.42', givenname: '2.5.4.42', postalcode: '2.5.4.17', emailaddress: '1.2.840.113549.1.9.1',
  organizationidentifier: '2.5.4.97',
};
const OID = /^\d+(\.\d+)+$/;

/** One attribute of a DN: its OID and either a normalised string or (for `#hex` values, RFC 4514 §2.4) the BER bytes in hex. */
interface Ava { oid: string; value: string; ber?: boolean }
export class DnProblem extends Error {}

/**
 * An RFC 4514 string DN as its RDNs, in string order (the last RDN of the certificate's sequence first).
 * Values are unescaped (`\,` `\+` `\"` `\\` `\;` `\<` `\>` `\=`, `\ `, `\#`, `\XX` hex pairs).
 */
export function parseDn(s: string): Ava[][] {
  if (s.length === 0 || s.length > 4096) throw new DnProblem('a subject DN is 1 to 4096 characters');
  const rdns: Ava[][] = [];
  let i = 0;
  let rdn: Ava[] = [];
  while (i < s.length) {
    while (s[i] === ' ') i++;
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new DnProblem('every DN attribute is type=value');
    const type = s.slice(i, eq).trim();
    const oid = OID.test(type) ? type : SHORT_NAMES[type.toLowerCase()];
    if (!oid) throw new DnProblem(`unknown DN attribute type ${JSON.stringify(type).slice(0, 40)} (use an RFC 4514 name or a dotted OID)`);
    i = eq + 1;
    let value: string;
    let ber = false;
    if (s[i] === '#') {
      const m = /^#([0-9a-fA-F]{2})+/.exec(s.slice(i));
      if (!m) throw new DnProblem('a #-value is hex pairs (RFC 4514 §2.4)');
      value = m[0].slice(1).toLowerCase();
      ber = true;
      i += m[0].length;
    } else {
      const bytes: number[] = [];
      const enc = new TextEncoder();
      for (; i < s.length && s[i] !== ',' && s[i] !== '+'; i++) {
        if (s[i] === '\\') {
          const next = s.slice(i + 1, i + 3);
          if (/^[0-9a-fA-F]{2}$/.test(next)) { bytes.push(parseInt(next, 16)); i += 2; continue; }
          if (i + 1 >= s.length || !' "#+,;<=>\\'.includes(s[i + 1]!)) throw new DnProblem('a backslash escapes a special character or a hex pair (RFC 4514 §2.4)');
          bytes.push(...enc.encode(s[i + 1]!));
          i++;
          continue;
        }
        bytes.push(...enc.encode(s[i]!));
      }
      try { value = new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes)); } catch { throw new DnProblem('a DN value is UTF-8'); }
    }
    rdn.push(ber ? { oid, value, ber } : { oid, value: normalise(value) });
    if (i >= s.length || s[i] === ',') { rdns.push(rdn); rdn = []; }
    else if (s[i] !== '+') throw new DnProblem('malformed DN');
    if (i < s.length) {
      i++;
      if (i >= s.length) throw new DnProblem('a DN does not end with a separator');
    }
  }
  if (rdn.length > 0) rdns.push(rdn);
  return rdns;
}

/**
 * Comparison of attribute values, close to LDAP caseIgnoreMatch (RFC 4517 §4.2.11 with RFC 4518's
 * preparation): Unicode compatibility form, case folded, leading/trailing spaces dropped and inner runs of
 * white space collapsed.
 */
const normalise = (v: string): string => v.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();

/** The certificate's DER, parsed once per certificate object. */
const parsed = new WeakMap<X509Certificate, Certificate>();
function asn1(cert: X509Certificate): Certificate {
  let c = parsed.get(cert);
  if (!c) parsed.set(cert, (c = AsnConvert.parse(cert.raw, Certificate)));
  return c;
}

/** The certificate's subject as RDNs in RFC 4514 string order. */
function subjectRdns(cert: X509Certificate): { text: Ava[]; ber: Ava[] }[] {
  return asn1(cert).tbsCertificate.subject.map((rdn) => ({
    text: rdn.map((a) => ({ oid: a.type, value: normalise(a.value.toString()) })),
    ber: rdn.map((a) => ({ oid: a.type, value: Buffer.from(AsnConvert.serialize(a.value)).toString('hex'), ber: true })),
  })).reverse();
}

/** RFC 8705 §2.1.2: the certificate's subject is the registered DN (RFC 4514 string form), compared attribute by attribute. */
export function subjectDnMatches(cert: X509Certificate, registered: string): boolean {
  let want: Ava[][];
  try { want = parseDn(registered); } catch { return false; }
  const have = subjectRdns(cert);
  if (want.length !== have.length) return false;
  return want.every((rdn, i) => {
    const h = have[i]!;
    // A multi-valued RDN is a set: its attributes may come in any order.
    return rdn.length === h.text.length && rdn.every((a) => (a.ber ? h.ber : h.text).some((b) => b.oid === a.oid && b.value === a.value));
  });
}

interface SanEntries { dns: string[]; uri: string[]; ip: string[]; email: string[] }

function sanEntries(cert: X509Certificate): SanEntries {
  const out: SanEntries = { dns: [], uri: [], ip: [], email: [] };
  const ext = asn1(cert).tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectAltName);
  if (!ext) return out;
  for (const g of AsnConvert.parse(ext.extnValue, SubjectAlternativeName)) {
    if (g.dNSName !== undefined) out.dns.push(g.dNSName);
    if (g.uniformResourceIdentifier !== undefined) out.uri.push(g.uniformResourceIdentifier);
    if (g.iPAddress !== undefined) out.ip.push(g.iPAddress);
    if (g.rfc822Name !== undefined) out.email.push(g.rfc822Name);
  }
  return out;
}

const ipNorm = (s: string): string | undefined => {
  try {
    let a = ipaddr.parse(s);
    if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
    return a.toNormalizedString();
  } catch { return undefined; }
};
// RFC 5321 §2.4: the local part is case-sensitive, the domain is not.
const emailNorm = (s: string): string => {
  const at = s.lastIndexOf('@');
  return at < 0 ? s : `${s.slice(0, at)}@${s.slice(at + 1).toLowerCase()}`;
};

/** Does the certificate carry the value a tls_client_auth client registered (RFC 8705 §2.1.2)? Exact matches only, no wildcards. */
export function certificateMatches(cert: X509Certificate, field: TlsSubjectField, registered: string): boolean {
  try {
    if (field === 'tlsClientAuthSubjectDn') return subjectDnMatches(cert, registered);
    const san = sanEntries(cert);
    switch (field) {
      case 'tlsClientAuthSanDns': return san.dns.some((d) => d.toLowerCase() === registered.toLowerCase());
      case 'tlsClientAuthSanUri': return san.uri.includes(registered);
      case 'tlsClientAuthSanIp': { const want = ipNorm(registered); return want !== undefined && san.ip.some((x) => ipNorm(x) === want); }
      case 'tlsClientAuthSanEmail': return san.email.some((e) => emailNorm(e) === emailNorm(registered));
    }
  } catch {
    // A certificate whose subject or extensions do not parse matches nothing.
    return false;
  }
}

/** Why a registered certificate field value is unusable, or undefined when it is fine. */
export function tlsSubjectProblem(field: TlsSubjectField, v: string): string | undefined {
  if (v.length === 0 || v.length > 4096) return 'must be 1 to 4096 characters';
  switch (field) {
    case 'tlsClientAuthSubjectDn':
      try { parseDn(v); return undefined; } catch (e) { return (e as Error).message; }
    case 'tlsClientAuthSanDns': return /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(v) ? undefined : 'must be a DNS name';
    case 'tlsClientAuthSanUri': try { new URL(v); return undefined; } catch { return 'must be an absolute URI'; }
    case 'tlsClientAuthSanIp': return ipNorm(v) !== undefined ? undefined : 'must be an IPv4 or IPv6 address';
    case 'tlsClientAuthSanEmail': return /^[^@\s]+@[^@\s]+$/.test(v) ? undefined : 'must be an email address';
  }
}
