import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MasterKey } from './masterkey.js';

/**
 * Client secrets are 256-bit random values (or admin-chosen values of at least 24 characters), not
 * passwords, so a keyed fast hash is the right tool: a slow hash would cap token throughput without
 * adding strength to a high-entropy secret. Format: `h1$salt$base64url(hmac)`.
 */
export function hashSecret(mk: MasterKey, secret: string): string {
  const salt = randomBytes(16).toString('base64url');
  return `h1$${salt}$${mk.hmac(salt, secret).toString('base64url')}`;
}

const DUMMY = 'h1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** Constant-time check; with `stored` undefined it still does the same work (no client-existence oracle). */
export function verifySecret(mk: MasterKey, secret: string, stored: string | undefined): boolean {
  const [v, salt, mac] = (stored ?? DUMMY).split('$');
  if (v !== 'h1' || salt === undefined || mac === undefined) return false;
  const expected = Buffer.from(mac, 'base64url');
  const actual = mk.hmac(salt, secret);
  return expected.length === actual.length && timingSafeEqual(expected, actual) && stored !== undefined;
}

/** Lookup hash for 256-bit random values (opaque tokens, registration tokens): SHA-256 suffices. */
export const lookupHash = (value: string): string => createHash('sha256').update(value).digest('base64url');

/** Constant-time string comparison. */
export function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y) && a.length === b.length;
}

/**
 * Secret verification with a small cache of recently verified secrets: after one successful keyed
 * check, the SHA-256 of the secret is remembered against the stored hash, so repeat requests of a
 * busy client cost a one-shot hash instead of an HMAC set-up. A changed secret changes the stored
 * hash and misses the cache. Only digests of high-entropy secrets are kept, never the secrets.
 */
export class SecretVerifier {
  private cache = new Map<string, Buffer>();
  constructor(private mk: MasterKey, private max = 10_000) {}

  verify(secret: string, stored: string | undefined): boolean {
    if (stored !== undefined) {
      const known = this.cache.get(stored);
      if (known) {
        const d = hash('sha256', secret, 'buffer') as unknown as Buffer;
        return timingSafeEqual(d, known);
      }
    }
    const ok = verifySecret(this.mk, secret, stored);
    if (ok && stored !== undefined) {
      if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(stored, hash('sha256', secret, 'buffer') as unknown as Buffer);
    }
    return ok;
  }
}
