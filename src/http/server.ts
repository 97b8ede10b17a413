import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Config } from '../config/schema.js';

export type ConnectionLimits = Pick<Config, 'headersTimeoutSeconds' | 'requestTimeoutSeconds' | 'keepAliveTimeoutSeconds' | 'maxConnections'>
  & Partial<Pick<Config, 'tlsCert' | 'tlsKey' | 'tlsClientCa'>>;

const readSetting = (path: string, setting: string): Buffer => {
  try { return readFileSync(path); } catch (e) { throw new Error(`${setting}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e }); }
};

/**
 * The node:http server Fastify listens with, created with Tessera's connection limits (Fastify's
 * own server leaves the request timeout at 0, so a slow body held a connection forever).
 *
 * node:http enforces the headers and request timeouts by sweeping its connections every
 * `connectionsCheckingInterval` (30 s by default, settable only at creation): with a 10 s headers
 * timeout a trickling client would keep its connection for up to 40 s. A sweep at a quarter of the
 * shorter timeout (at most every second) keeps the bound within 25% of the setting; it walks the
 * open connections only, at most `maxConnections` of them.
 *
 * With TESSERA_TLS_CERT/KEY it is an HTTPS server. RFC 8705 §2: it asks every client for a certificate but
 * requires none (`requestCert`, `rejectUnauthorized: false`): browsers and secret-based clients connect as
 * before, and whether a certificate is trusted is decided per request (`socket.authorized` against
 * TESSERA_TLS_CLIENT_CA, in http/client_certificate.ts), which also lets self-signed certificates through for
 * self_signed_tls_client_auth (§2.2).
 */
export function createHttpServer(limits: ConnectionLimits, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const headersTimeout = limits.headersTimeoutSeconds * 1000;
  const requestTimeout = limits.requestTimeoutSeconds * 1000;
  const options = {
    headersTimeout,
    requestTimeout,
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(Math.min(headersTimeout, requestTimeout) / 4))),
  };
  const server: Server = limits.tlsCert && limits.tlsKey
    ? createHttpsServer({
      ...options,
      cert: readSetting(limits.tlsCert, 'TESSERA_TLS_CERT'), key: readSetting(limits.tlsKey, 'TESSERA_TLS_KEY'),
      ...(limits.tlsClientCa ? { ca: readSetting(limits.tlsClientCa, 'TESSERA_TLS_CLIENT_CA') } : {}),
      requestCert: true, rejectUnauthorized: false,
    }, handler) as unknown as Server
    : createServer(options, handler);
  // Idle time between requests on a kept-alive connection.
  server.keepAliveTimeout = limits.keepAliveTimeoutSeconds * 1000;
  // Connections beyond this are destroyed on accept, before any byte is read.
  server.maxConnections = limits.maxConnections;
  return server;
}
