import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import ipaddr from 'ipaddr.js';
import type { Clock } from '../core/clock.js';

export class FetchRefused extends Error {}

/** Only globally routable unicast addresses; no loopback, private, link-local (169.254/16, fe80::/10), CGNAT, multicast... */
export function isPublicAddress(ip: string): boolean {
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try { a = ipaddr.parse(ip); } catch { return false; }
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  return a.range() === 'unicast';
}

/**
 * Why a client's `jwks_uri` cannot be registered, or undefined: https only (http only when private fetching is
 * allowed for tests), no credentials or fragment, and no literal private, loopback or link-local address or
 * `localhost`. A cheap early refusal at registration; the fetch itself re-checks every resolved address
 * (Keycloak CVE-2026-1180), since a public name can resolve to a private address later.
 */
export function jwksUriProblem(uri: string, allowPrivate: boolean): string | undefined {
  let u: URL;
  try { u = new URL(uri); } catch { return 'must be an https URL'; }
  if (u.protocol !== 'https:' && !(allowPrivate && u.protocol === 'http:')) return 'must be an https URL';
  if (u.username || u.password || u.hash) return 'must not carry credentials or a fragment';
  if (uri.length > 2000) return 'is too long';
  // A fully qualified name may end with a dot (`localhost.` is localhost; WHATWG URL keeps it for names).
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.+$/, '');
  if (!allowPrivate && (host === 'localhost' || host.endsWith('.localhost') || (ipaddr.isValid(host) && !isPublicAddress(host)))) {
    return 'must not point at a private, loopback or link-local address';
  }
  return undefined;
}

export interface SafeFetchOptions {
  allowPrivate: boolean;
  timeoutMs?: number;
  maxBytes?: number;
}

/**
 * GET a JSON document from a client-supplied URL without becoming an SSRF proxy (Keycloak
 * CVE-2020-10770, CVE-2026-1180): https only (http only when private fetching is allowed for tests),
 * every resolved address must be public, the connection is pinned to the checked address (no DNS
 * rebinding), no redirects, bounded size and time.
 */
export async function safeFetchJson(url: string, o: SafeFetchOptions): Promise<unknown> {
  let u: URL;
  try { u = new URL(url); } catch { throw new FetchRefused('not a URL'); }
  if (u.protocol !== 'https:' && !(o.allowPrivate && u.protocol === 'http:')) throw new FetchRefused('only https URLs are fetched');
  if (u.username || u.password) throw new FetchRefused('credentials in URL');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const addrs = ipaddr.isValid(host) ? [{ address: host, family: host.includes(':') ? 6 : 4 }] : await lookup(host, { all: true, verbatim: true });
  if (!addrs.length) throw new FetchRefused('host does not resolve');
  if (!o.allowPrivate && !addrs.every((a) => isPublicAddress(a.address))) throw new FetchRefused('host resolves to a non-public address');
  const pinned = addrs[0]!;
  const maxBytes = o.maxBytes ?? 65536;
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, {
      method: 'GET', headers: { accept: 'application/json, application/jwk-set+json' }, timeout: o.timeoutMs ?? 5000,
      lookup: (_h, _o, cb) => (cb as (e: null, a: string, f: number) => void)(null, pinned.address, pinned.family),
    }, (res) => {
      if (res.statusCode !== 200) { res.resume(); reject(new FetchRefused(`status ${res.statusCode}`)); return; }
      let size = 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) { req.destroy(new FetchRefused('response too large')); return; }
        chunks.push(c);
      });
      res.on('end', () => {
        try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch { reject(new FetchRefused('not JSON')); }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new FetchRefused('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Caches JWK Sets fetched from jwks_uri (clients' and trusted issuers'); refetches on an unknown kid at most once
 * per `minRefetchMs` (RFC 8725 §3.10 spirit). Anyone holding client credentials can send assertions naming unknown
 * kids, so the fetch must not follow the requests: concurrent requests for one URI share one fetch, and a fetch
 * that failed is not tried again for `minRefetchMs` (its error is answered meanwhile), so a slow or failing partner
 * endpoint costs one outbound request a minute, not one per token request.
 */
export class JwksFetcher {
  private cache = new Map<string, { at: number; jwks: { keys: unknown[] } }>();
  private failures = new Map<string, { at: number; error: unknown }>();
  private inflight = new Map<string, Promise<{ keys: unknown[] }>>();
  constructor(private clock: Clock, private opts: SafeFetchOptions & { ttlMs?: number; minRefetchMs?: number }) {}

  async get(uri: string, forceRefresh = false): Promise<{ keys: unknown[] }> {
    const hit = this.cache.get(uri);
    const now = this.clock.now();
    const age = hit ? now - hit.at : Infinity;
    const fresh = hit !== undefined && age < (this.opts.ttlMs ?? 300_000);
    const minRefetch = this.opts.minRefetchMs ?? 60_000;
    if (fresh && (!forceRefresh || age < minRefetch)) return hit.jwks;
    const failed = this.failures.get(uri);
    if (failed && now - failed.at < minRefetch) {
      if (fresh) return hit.jwks;
      throw failed.error;
    }
    let pending = this.inflight.get(uri);
    if (!pending) {
      pending = this.fetch(uri, now).finally(() => this.inflight.delete(uri));
      this.inflight.set(uri, pending);
    }
    return pending;
  }

  private async fetch(uri: string, now: number): Promise<{ keys: unknown[] }> {
    try {
      const body = await safeFetchJson(uri, this.opts);
      if (!body || typeof body !== 'object' || !Array.isArray((body as { keys?: unknown }).keys)) throw new FetchRefused('not a JWK Set');
      const jwks = body as { keys: unknown[] };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(uri, { at: now, jwks });
      this.failures.delete(uri);
      return jwks;
    } catch (e) {
      if (this.failures.size > 10_000) this.failures.clear();
      this.failures.set(uri, { at: now, error: e });
      throw e;
    }
  }
}
