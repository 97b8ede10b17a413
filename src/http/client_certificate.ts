/**
 * Where a request's client certificate comes from (RFC 8705 §2, §3): Tessera's own HTTPS listener, which asks
 * for one without requiring it, or a TLS-terminating proxy that forwards it in a configured header.
 *
 * Who checks what:
 * - own listener: the TLS handshake proves the client holds the certificate's private key; OpenSSL verifies the
 *   chain against TESSERA_TLS_CLIENT_CA and the validity period (`socket.authorized`), but the handshake does not
 *   fail without it, so a self-signed certificate still arrives for self_signed_tls_client_auth.
 * - proxy header: the proxy did the handshake (proof of possession) and Tessera cannot see it, so the header is
 *   believed only on a connection from a TESSERA_TRUST_PROXY address. The chain is checked again here against
 *   TESSERA_TLS_CLIENT_CA (a proxy set to pass self-signed certificates, nginx `optional_no_ca`, would otherwise
 *   let any subject DN through).
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { certificateThumbprint, type PresentedCertificate } from '../clientauth/certificate.js';

/** A forwarded PEM certificate is a few KB; anything much longer is not one (Node caps all headers at 16 KB anyway). */
const MAX_HEADER = 12_288;
const PEM = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;

export interface CertificateLookup {
  certificate?: PresentedCertificate;
  /** Why a certificate that seemed to be there was not used (for the audit trail). */
  problem?: string;
}

/** Read every PEM certificate of a file; start-up fails naming the setting when it holds none. */
export function readPemCertificates(path: string, setting: string): X509Certificate[] {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new Error(`${setting}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e }); }
  const certs = [...text.matchAll(PEM)].map((m) => {
    try { return new X509Certificate(m[0]); } catch { throw new Error(`${setting}: ${path} holds a certificate that cannot be read`); }
  });
  if (certs.length === 0) throw new Error(`${setting}: ${path} holds no PEM certificate`);
  return certs;
}

export class ClientCertificates {
  private readonly cas: X509Certificate[];
  private readonly proxies: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  private readonly memo = new WeakMap<FastifyRequest, CertificateLookup>();

  constructor(private readonly config: Pick<Config, 'tlsClientCa' | 'tlsClientCertHeader' | 'tlsClientCertHeaderFormat' | 'trustProxy'>, private readonly clock: Clock) {
    this.cas = config.tlsClientCa ? readPemCertificates(config.tlsClientCa, 'TESSERA_TLS_CLIENT_CA').filter((c) => c.ca) : [];
    if (config.tlsClientCa && this.cas.length === 0) throw new Error('TESSERA_TLS_CLIENT_CA: no CA certificate (basicConstraints cA) in the file');
    this.proxies = Array.isArray(config.trustProxy)
      ? config.trustProxy.map((x) => (x.includes('/') ? ipaddr.parseCIDR(x) : [ipaddr.parse(x), ipaddr.parse(x).kind() === 'ipv4' ? 32 : 128]))
      : [];
  }

  /** The request's client certificate, looked up once per request. */
  of(req: FastifyRequest): CertificateLookup {
    let r = this.memo.get(req);
    if (!r) this.memo.set(req, (r = this.lookup(req)));
    return r;
  }

  private lookup(req: FastifyRequest): CertificateLookup {
    const socket = req.raw.socket;
    const header = this.config.tlsClientCertHeader;
    if (header !== undefined && this.fromTrustedProxy(socket.remoteAddress)) {
      const raw = req.headers[header];
      if (raw === undefined) return {};
      if (Array.isArray(raw)) return { problem: `${header} sent more than once` };
      return this.forwarded(raw);
    }
    if (socket instanceof TLSSocket) {
      const cert = socket.getPeerX509Certificate();
      if (!cert) return {};
      return { certificate: { cert, thumbprint: certificateThumbprint(cert.raw), trusted: socket.authorized && this.cas.length > 0, source: 'tls' } };
    }
    return header !== undefined && req.headers[header] !== undefined ? { problem: `${header} from ${socket.remoteAddress ?? '?'}, not a trusted proxy: ignored` } : {};
  }

  /** The connection's peer (never X-Forwarded-For) is one of the listed proxies. */
  private fromTrustedProxy(address: string | undefined): boolean {
    if (!address || this.proxies.length === 0) return false;
    let a: ipaddr.IPv4 | ipaddr.IPv6;
    try { a = ipaddr.parse(address); } catch { return false; }
    const forms = [a];
    if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) forms.push((a as ipaddr.IPv6).toIPv4Address());
    return this.proxies.some(([range, bits]) => forms.some((f) => f.kind() === range.kind() && f.match(range, bits)));
  }

  private forwarded(raw: string): CertificateLookup {
    if (raw.length === 0) return {};
    if (raw.length > MAX_HEADER) return { problem: 'forwarded client certificate header too long' };
    let pem: string | undefined;
    if (this.config.tlsClientCertHeaderFormat === 'xfcc') {
      // Envoy: `By=...;Hash=...;Cert="<URL-encoded PEM>";...`, one element per proxy hop, comma-separated; the first
      // element is the client's (the hop that terminated its TLS connection).
      const first = raw.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)[0]!;
      const m = /(?:^|;)\s*Cert="?([^";]*)"?/i.exec(first);
      if (!m) return {};
      pem = m[1];
    } else {
      pem = raw;
    }
    let decoded: string;
    try { decoded = decodeURIComponent(pem!); } catch { return { problem: 'forwarded client certificate is not URL-encoded' }; }
    const blocks = [...decoded.matchAll(PEM)];
    if (blocks.length !== 1) return { problem: 'forwarded client certificate header does not hold exactly one PEM certificate' };
    let cert: X509Certificate;
    try { cert = new X509Certificate(blocks[0]![0]); } catch { return { problem: 'forwarded client certificate cannot be read' }; }
    return { certificate: { cert, thumbprint: certificateThumbprint(cert.raw), trusted: this.chainsToCa(cert), source: 'header' } };
  }

  /** Issued and signed by one of the configured CAs, both within their validity periods. */
  private chainsToCa(cert: X509Certificate): boolean {
    const now = this.clock.now();
    const valid = (c: X509Certificate) => Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
    if (!valid(cert)) return false;
    return this.cas.some((ca) => valid(ca) && cert.checkIssued(ca) && cert.verify(ca.publicKey));
  }
}
