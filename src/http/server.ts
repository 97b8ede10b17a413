import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../config/schema.js';

export type ConnectionLimits = Pick<Config, 'headersTimeoutSeconds' | 'requestTimeoutSeconds' | 'keepAliveTimeoutSeconds' | 'maxConnections'>;

/**
 * The node:http server Fastify listens with, created with Tessera's connection limits (Fastify's
 * own server leaves the request timeout at 0, so a slow body held a connection forever).
 *
 * node:http enforces the headers and request timeouts by sweeping its connections every
 * `connectionsCheckingInterval` (30 s by default, settable only at creation): with a 10 s headers
 * timeout a trickling client would keep its connection for up to 40 s. A sweep at a quarter of the
 * shorter timeout (at most every second) keeps the bound within 25% of the setting; it walks the
 * open connections only, at most `maxConnections` of them.
 */
export function createHttpServer(limits: ConnectionLimits, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const headersTimeout = limits.headersTimeoutSeconds * 1000;
  const requestTimeout = limits.requestTimeoutSeconds * 1000;
  const server = createServer({
    headersTimeout,
    requestTimeout,
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(Math.min(headersTimeout, requestTimeout) / 4))),
  }, handler);
  // Idle time between requests on a kept-alive connection.
  server.keepAliveTimeout = limits.keepAliveTimeoutSeconds * 1000;
  // Connections beyond this are destroyed on accept, before any byte is read.
  server.maxConnections = limits.maxConnections;
  return server;
}
