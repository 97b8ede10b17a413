import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DomainRecord } from '../core/types.js';
import type { AuthDeps } from '../clientauth/types.js';
import type { Services } from './services.js';

/** Per-request identity domain context, resolved from the path before any handler runs. */
export interface DomainContext {
  domain: DomainRecord;
  issuer: string;
  /** `${issuer}/oauth2/v1` etc. are built from this. */
  endpoints: Endpoints;
}

export interface Endpoints {
  token: string;
  introspect: string;
  revoke: string;
  tokeninfo: string;
  register: string;
  jwks: string;
  admin: string;
  /** RFC 8628 §3.1 device authorization endpoint. */
  device: string;
}

export const endpointsFor = (issuer: string): Endpoints => ({
  token: `${issuer}/oauth2/v1/token`,
  introspect: `${issuer}/oauth2/v1/introspect`,
  revoke: `${issuer}/oauth2/v1/revoke`,
  tokeninfo: `${issuer}/oauth2/v1/tokeninfo`,
  register: `${issuer}/oauth2/v1/register`,
  jwks: `${issuer}/admin/v1/SigningCert/jwk`,
  admin: `${issuer}/admin/v1`,
  device: `${issuer}/oauth2/v1/device`,
});

declare module 'fastify' {
  interface FastifyRequest {
    tessera: DomainContext;
  }
}

export class UnknownDomain extends Error {}

export function ctx(req: FastifyRequest): DomainContext {
  return req.tessera;
}

export function authDeps(s: Services, c: DomainContext): AuthDeps {
  return {
    domain: c.domain, issuer: c.issuer, tokenEndpoint: c.endpoints.token, clock: s.clock, masterKey: s.masterKey, secrets: s.secrets,
    findClient: (id) => s.catalogs.client(c.domain.id, id), assertionJtis: s.repos.assertionJtis, jwksFetcher: s.jwksFetcher,
    clockSkewSeconds: s.config.clockSkewSeconds, assertionMaxLifetime: s.config.clientAssertionMaxLifetime,
    acceptTokenEndpointAudience: s.config.clientAssertionAcceptTokenEndpointAudience,
  };
}

/** RFC 6749 §5.1: token responses and errors must not be cached. */
export function noStore(reply: FastifyReply): void {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}
