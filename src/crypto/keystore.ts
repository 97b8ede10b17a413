import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint } from 'jose';
import type { Clock } from '../core/clock.js';
import type { Jwk, SigningAlg, SigningKeyRecord } from '../core/types.js';
import type { SigningKeyRepository } from '../storage/ports.js';
import { Conflict } from '../storage/ports.js';
import { asConflict } from '../storage/errors.js';
import type { MasterKey } from './masterkey.js';

const genKeyPair = promisify(generateKeyPair) as (type: string, opts: object) => Promise<{ publicKey: KeyObject; privateKey: KeyObject }>;

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: KeyObject;
}
export interface VerificationKey {
  kid: string;
  alg: SigningAlg;
  publicKey: KeyObject;
}

interface DomainKeys {
  loadedAt: number;
  records: SigningKeyRecord[];
  active: Map<string, SigningKey>; // by alg
  byKid: Map<string, VerificationKey>;
  jwks: { keys: Jwk[] };
}

async function generate(alg: SigningAlg): Promise<{ publicJwk: Jwk; privateJwk: Jwk }> {
  const pair = alg === 'ES256' ? await genKeyPair('ec', { namedCurve: 'P-256' })
    : alg === 'EdDSA' ? await genKeyPair('ed25519', {})
    : await genKeyPair('rsa', { modulusLength: 2048 });
  return {
    publicJwk: pair.publicKey.export({ format: 'jwk' }) as Jwk,
    privateJwk: pair.privateKey.export({ format: 'jwk' }) as Jwk,
  };
}

export interface KeyStoreDeps {
  repo: SigningKeyRepository;
  masterKey: MasterKey;
  clock: Clock;
  cacheTtlMs: number;
}

/**
 * Signing keys per identity domain and algorithm. Each alg has one `active` key (signs), one `next`
 * key (published in the JWKS before it ever signs, so verifiers have it cached by the time it is
 * promoted) and `retired` keys (published until every token they signed has expired).
 */
export class KeyStore {
  private cache = new Map<string, DomainKeys>();
  private loading = new Map<string, Promise<DomainKeys>>();
  constructor(private deps: KeyStoreDeps) {}

  invalidate(domainId: string): void { this.cache.delete(domainId); }

  private aad(rec: Pick<SigningKeyRecord, 'kid' | 'domainId'>): string { return `signing-key:${rec.domainId}:${rec.kid}`; }

  private async load(domainId: string): Promise<DomainKeys> {
    const hit = this.cache.get(domainId);
    if (hit && this.deps.clock.now() - hit.loadedAt < this.deps.cacheTtlMs) return hit;
    const inflight = this.loading.get(domainId);
    if (inflight) return inflight;
    const p = (async () => {
      const records = await this.deps.repo.list(domainId);
      const keys: DomainKeys = { loadedAt: this.deps.clock.now(), records, active: new Map(), byKid: new Map(), jwks: { keys: [] } };
      for (const r of records) {
        keys.byKid.set(r.kid, { kid: r.kid, alg: r.alg, publicKey: createPublicKey({ key: r.publicJwk as never, format: 'jwk' }) });
        keys.jwks.keys.push({ ...r.publicJwk, kid: r.kid, alg: r.alg, use: 'sig' });
        if (r.status === 'active') {
          const jwk = JSON.parse(this.deps.masterKey.decrypt(r.privateJwkEnc, this.aad(r)));
          keys.active.set(r.alg, { kid: r.kid, alg: r.alg, privateKey: createPrivateKey({ key: jwk, format: 'jwk' }) });
        }
      }
      this.cache.set(domainId, keys);
      return keys;
    })();
    this.loading.set(domainId, p);
    try { return await p; } finally { this.loading.delete(domainId); }
  }

  private async newRecord(domainId: string, alg: SigningAlg, status: 'active' | 'next'): Promise<SigningKeyRecord> {
    const { publicJwk, privateJwk } = await generate(alg);
    const kid = await calculateJwkThumbprint(publicJwk as never);
    const now = this.deps.clock.now();
    const rec: SigningKeyRecord = {
      kid, domainId, alg, status, publicJwk, privateJwkEnc: '', createdAt: now, activatedAt: status === 'active' ? now : undefined,
    };
    rec.privateJwkEnc = this.deps.masterKey.encrypt(JSON.stringify(privateJwk), this.aad(rec));
    return rec;
  }

  /** Make sure `alg` has an active and a next key (first use of an alg in a domain). */
  async ensure(domainId: string, alg: SigningAlg): Promise<void> {
    const keys = await this.load(domainId);
    const has = (status: string) => keys.records.some((r) => r.alg === alg && r.status === status);
    let created = false;
    for (const status of ['active', 'next'] as const) {
      if (has(status)) continue;
      try {
        await this.deps.repo.insert(await this.newRecord(domainId, alg, status));
        created = true;
      } catch (e) {
        // Another node created it first (partial unique index): use theirs.
        if (!(asConflict(e, {}) instanceof Conflict)) throw e;
        created = true;
      }
    }
    if (created) this.invalidate(domainId);
  }

  async signingKey(domainId: string, alg: SigningAlg): Promise<SigningKey> {
    let keys = await this.load(domainId);
    let k = keys.active.get(alg);
    if (!k) {
      await this.ensure(domainId, alg);
      keys = await this.load(domainId);
      k = keys.active.get(alg);
      if (!k) throw new Error(`no active ${alg} key for domain ${domainId}`);
    }
    return k;
  }

  async verificationKey(domainId: string, kid: string): Promise<VerificationKey | undefined> {
    const keys = await this.load(domainId);
    return keys.byKid.get(kid);
  }

  async jwks(domainId: string): Promise<{ keys: Jwk[] }> {
    return (await this.load(domainId)).jwks;
  }

  async list(domainId: string): Promise<SigningKeyRecord[]> {
    return this.deps.repo.list(domainId);
  }

  /**
   * Promote `next` to `active`, retire the old active key (published for `retainSeconds` more: the
   * longest lifetime of a token it may have signed, plus the cache TTL of other nodes), publish a new `next`.
   */
  async rotate(domainId: string, alg: SigningAlg, retainSeconds: number): Promise<{ active: string; next: string }> {
    await this.ensure(domainId, alg);
    for (let attempt = 0; attempt < 3; attempt++) {
      const records = await this.deps.repo.list(domainId);
      const next = records.find((r) => r.alg === alg && r.status === 'next');
      if (!next) { await this.ensure(domainId, alg); continue; }
      const newNext = await this.newRecord(domainId, alg, 'next');
      const now = this.deps.clock.now();
      const ok = await this.deps.repo.rotate(domainId, alg, next.kid, newNext, now, now + (retainSeconds * 1000) + this.deps.cacheTtlMs);
      this.invalidate(domainId);
      if (ok) return { active: next.kid, next: newNext.kid };
    }
    throw new Error('key rotation kept losing a race; try again');
  }
}
