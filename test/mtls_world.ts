/**
 * Certificates and TLS connections for the mutual-TLS tests (RFC 8705): a CA, a server certificate, client
 * certificates made with openssl in a temporary directory, and node:https requests that present them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate, createHash } from 'node:crypto';

export interface KeyPair { cert: string; key: string; certFile: string; keyFile: string; thumbprint: string; x509: X509Certificate }

export class Pki {
  readonly dir = mkdtempSync(join(tmpdir(), 'tessera-mtls-'));
  private n = 0;

  private run(args: string[]) { execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] }); }
  private pair(name: string): KeyPair {
    const certFile = join(this.dir, `${name}.crt`);
    const keyFile = join(this.dir, `${name}.key`);
    const cert = readFileSync(certFile, 'utf8');
    const x509 = new X509Certificate(cert);
    return { cert, key: readFileSync(keyFile, 'utf8'), certFile, keyFile, x509, thumbprint: createHash('sha256').update(x509.raw).digest('base64url') };
  }

  /** A CA (self-signed, basicConstraints CA:true). */
  ca(name: string, subject = `/CN=${name}`): KeyPair {
    this.run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(this.dir, `${name}.key`),
      '-out', join(this.dir, `${name}.crt`), '-subj', subject, '-days', '2', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    return this.pair(name);
  }

  /** A certificate issued by `ca` (openssl -subj syntax, e.g. /C=US/O=Example/CN=client) with optional subjectAltName entries. */
  issue(ca: KeyPair, name: string, subject: string, san?: string, days = 2): KeyPair {
    const csr = join(this.dir, `${name}.csr`);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth,serverAuth\n${san ? `subjectAltName=${san}\n` : ''}`);
    this.run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(this.dir, `${name}.key`), '-out', csr, '-subj', subject]);
    this.run(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(1000 + this.n++), '-days', String(days),
      '-extfile', ext, '-out', join(this.dir, `${name}.crt`)]);
    return this.pair(name);
  }

  /** A self-signed end-entity certificate (RSA, so the JWKS it is registered in has kty RSA). */
  selfSigned(name: string, subject = `/CN=${name}`): KeyPair {
    this.run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(this.dir, `${name}.key`), '-out', join(this.dir, `${name}.crt`),
      '-subj', subject, '-days', '2']);
    return this.pair(name);
  }

  close() { rmSync(this.dir, { recursive: true, force: true }); }
}

/** The certificate's public key as a JWK (what a self_signed_tls_client_auth client registers). */
export const jwkOf = (p: KeyPair): Record<string, unknown> => ({ ...(p.x509.publicKey.export({ format: 'jwk' }) as Record<string, unknown>), use: 'sig' });

/** A TCP port that was free a moment ago (the issuer URL must name it before the server listens). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface TlsResponse { status: number; headers: Record<string, string | string[] | undefined>; body: string; json(): any } // eslint-disable-line @typescript-eslint/no-explicit-any

/** One HTTPS request to 127.0.0.1:port (server name localhost, verified against `ca`), presenting `client` if given. */
export function tlsRequest(port: number, ca: string, o: { method?: string; path: string; body?: string; headers?: Record<string, string>; client?: KeyPair }): Promise<TlsResponse> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, servername: 'localhost', path: o.path, method: o.method ?? (o.body ? 'POST' : 'GET'), ca, agent: false,
      headers: { ...(o.body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(o.body)) } : {}), ...o.headers },
      ...(o.client ? { cert: o.client.cert, key: o.client.key } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
      });
    });
    req.on('error', reject);
    if (o.body) req.write(o.body);
    req.end();
  });
}

/** A fetch for oauth4webapi's customFetch: the request goes over node:https with the client's certificate. */
export function mtlsFetch(port: number, ca: string, client: KeyPair) {
  return async (url: string, init: { method?: string; headers?: Headers | Record<string, string>; body?: unknown }): Promise<Response> => {
    const u = new URL(url);
    const headers: Record<string, string> = {};
    new Headers(init.headers as Record<string, string>).forEach((v, k) => { headers[k] = v; });
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    const r = await tlsRequest(Number(u.port) || port, ca, { method: init.method ?? 'GET', path: u.pathname + u.search, body, headers, client });
    const h = new Headers();
    for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
    return new Response(r.body, { status: r.status, headers: h });
  };
}
