import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint } from 'jose';
import type { Clock } from '../core/clock.js';
import type { Jwk, SigningAlg, SigningKeyRecord } from '../core/types.js';
import type { SigningKeyRepository } from '../storage/ports.js';
import { Conflict } from '../storage/ports.js';
import { asConflict } from '../storage/errors.js';
import type { MasterKey } from './masterkey.js';
import type { CacheChange } from '../cache/changes.js';
import type { InvalidatedCache } from '../cache/invalidation.js';

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
  /** The `next` key of each alg that has no active key yet: published, waiting out the delay. */
  pending: Map<string, SigningKeyRecord>;
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

/**
 * The algs a new domain gets keys for at once: the default, and RS256 for ID tokens (OIDC Core
 * §15.1: what relying parties expect unless they registered another alg). Keys made later would
 * have to wait out the publish delay.
 */
export const firstAlgs = (defaultAlg: SigningAlg): SigningAlg[] => (defaultAlg === 'RS256' ? ['RS256'] : [defaultAlg, 'RS256']);

export interface KeyStoreDeps {
  repo: SigningKeyRepository;
  masterKey: MasterKey;
  clock: Clock;
  /** The longest a node may hold a key set: retired keys stay published this much longer. */
  cacheTtlMs: number;
  /** How long a loaded key set is used now (the cache TTL while change notifications are live, the fallback TTL otherwise); default cacheTtlMs. */
  freshForMs?: () => number;
  /**
   * How long a key for an alg new to a domain is published before it signs: verifiers cache the
   * JWKS (max-age) and nodes cache keys, so a key signing sooner fails at a verifier that fetched
   * the JWKS just before it appeared.
   */
  publishDelayMs: number;
}

/** What `rotate` did, for the CLI and the admin API to say. Times in ms since the epoch. */
export type RotationResult =
  | {
    outcome: 'rotated';
    alg: SigningAlg;
    /** The key that signs now, and since when it was published. */
    active: { kid: string; publishedAt: number };
    /** The key that signed before; published until `publishedUntil` so its tokens still verify. */
    retired?: { kid: string; publishedUntil: number };
    /** The new next key, published now; the following rotation makes it sign. */
    next: { kid: string; publishedAt: number };
  }
  | {
    /**
     * Another node or administrator rotated the key this call meant to retire at the same moment; this
     * call changed nothing (rotating again would make a key sign that verifiers have not fetched yet).
     */
    outcome: 'superseded';
    alg: SigningAlg;
    /** The key that signs now. */
    active?: { kid: string; publishedAt: number };
  }
  | {
    /** `published`: the alg had no key, a new one is published now; `pending`: it was published before, nothing changed. */
    outcome: 'published' | 'pending';
    alg: SigningAlg;
    next: { kid: string; publishedAt: number };
    signsFrom: number;
  };

/**
 * Signing keys per identity domain and algorithm. Each alg has one `active` key (signs), one `next`
 * key (published in the JWKS before it ever signs, so verifiers have it cached by the time it is
 * promoted) and `retired` keys (published until every token they signed has expired).
 *
 * An alg the domain has no key for starts with a `next` key only, which signs once it has been
 * published for `publishDelayMs`; until then access tokens for it are signed with a fallback alg.
 * Only a brand-new domain (no keys at all, so no verifier can have cached its JWKS) gets active keys at once.
 */
export class KeyStore implements InvalidatedCache {
  private cache = new Map<string, DomainKeys>();
  private loading = new Map<string, Promise<DomainKeys>>();
  private promoting = new Map<string, Promise<void>>();
  /** Bumped by every invalidation; a load begun before one is not stored (see Catalogs). */
  private epoch = 0;
  constructor(private deps: KeyStoreDeps) {}

  invalidate(domainId: string): void {
    this.epoch++;
    this.cache.delete(domainId);
    this.loading.delete(domainId);
  }

  /** A key inserted, promoted, rotated or purged through any node (the change feed). */
  applyChange(c: CacheChange): void { if (c.kind === 'keys') this.invalidate(c.domainId); }

  flush(): void {
    this.epoch++;
    this.cache.clear();
    this.loading.clear();
  }

  get publishDelayMs(): number { return this.deps.publishDelayMs; }

  private aad(rec: Pick<SigningKeyRecord, 'kid' | 'domainId'>): string { return `signing-key:${rec.domainId}:${rec.kid}`; }

  private async load(domainId: string): Promise<DomainKeys> {
    const hit = this.cache.get(domainId);
    if (hit && this.deps.clock.now() - hit.loadedAt < (this.deps.freshForMs?.() ?? this.deps.cacheTtlMs)) return hit;
    const inflight = this.loading.get(domainId);
    if (inflight) return inflight;
    const epoch = this.epoch;
    const p = (async () => {
      const records = await this.deps.repo.list(domainId);
      const keys: DomainKeys = { loadedAt: this.deps.clock.now(), records, active: new Map(), pending: new Map(), byKid: new Map(), jwks: { keys: [] } };
      for (const r of records) {
        keys.byKid.set(r.kid, { kid: r.kid, alg: r.alg, publicKey: createPublicKey({ key: r.publicJwk as never, format: 'jwk' }) });
        keys.jwks.keys.push({ ...r.publicJwk, kid: r.kid, alg: r.alg, use: 'sig' });
        if (r.status === 'active') {
          const jwk = JSON.parse(this.deps.masterKey.decrypt(r.privateJwkEnc, this.aad(r)));
          keys.active.set(r.alg, { kid: r.kid, alg: r.alg, privateKey: createPrivateKey({ key: jwk, format: 'jwk' }) });
        }
      }
      for (const r of records) if (r.status === 'next' && !keys.active.has(r.alg)) keys.pending.set(r.alg, r);
      if (this.epoch === epoch) this.cache.set(domainId, keys);
      return keys;
    })();
    this.loading.set(domainId, p);
    try { return await p; } finally { if (this.loading.get(domainId) === p) this.loading.delete(domainId); }
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

  /** When a published `next` key of an alg without an active key may start signing. */
  signsFrom(rec: Pick<SigningKeyRecord, 'createdAt'>): number { return rec.createdAt + this.deps.publishDelayMs; }

  /**
   * Make sure each of `algs` has keys. A domain without any key gets an active and a next key per
   * alg at once; an alg new to a domain that has keys gets a `next` key only (published, not signing);
   * an alg with an active key but no next one gets a next one.
   */
  async ensure(domainId: string, ...algs: SigningAlg[]): Promise<void> {
    // Read the store, not the cache: "no keys at all" must not come from a stale view.
    const records = await this.deps.repo.list(domainId);
    const fresh = records.length === 0;
    let created = false;
    for (const alg of algs) {
      const has = (status: string) => records.some((r) => r.alg === alg && r.status === status);
      const wanted: ('active' | 'next')[] = fresh ? ['active', 'next'] : has('next') ? [] : ['next'];
      for (const status of wanted) {
        try {
          await this.deps.repo.insert(await this.newRecord(domainId, alg, status));
        } catch (e) {
          // Another node created it first (partial unique index): use theirs.
          if (!(asConflict(e, {}) instanceof Conflict)) throw e;
        }
        created = true;
      }
    }
    if (created) this.invalidate(domainId);
  }

  /**
   * The key that signs for `alg`. An alg whose key is still waiting out the publish delay signs with
   * `fallback`'s key meanwhile (or any active key of the domain). Without a fallback (a token type
   * that must carry exactly `alg`), or once the delay has passed, the waiting key is promoted.
   */
  async signingKey(domainId: string, alg: SigningAlg, opts: { fallback?: SigningAlg } = {}): Promise<SigningKey> {
    const k = (await this.load(domainId)).active.get(alg);
    return k ?? this.notYetActive(domainId, alg, opts.fallback);
  }

  private async notYetActive(domainId: string, alg: SigningAlg, fallback: SigningAlg | undefined): Promise<SigningKey> {
    let keys = await this.load(domainId);
    if (!keys.pending.has(alg)) {
      await this.ensure(domainId, alg);
      keys = await this.load(domainId);
      const k = keys.active.get(alg);
      if (k) return k;
    }
    const pending = keys.pending.get(alg);
    if (pending) {
      const instead = fallback === undefined ? undefined : keys.active.get(fallback) ?? keys.active.values().next().value;
      if (instead && this.deps.clock.now() < this.signsFrom(pending)) return instead;
      await this.promote(domainId, pending);
      const k = (await this.load(domainId)).active.get(alg);
      if (k) return k;
    }
    throw new Error(`no active ${alg} key for domain ${domainId}`);
  }

  /** The pending key starts signing; safe on every node at once (the repository's conditional update decides). */
  private promote(domainId: string, pending: SigningKeyRecord): Promise<void> {
    const id = `${domainId}:${pending.kid}`;
    let p = this.promoting.get(id);
    if (!p) {
      p = (async () => {
        const newNext = await this.newRecord(domainId, pending.alg, 'next');
        // false: another node promoted (or rotated) first; the reload below sees its result.
        await this.deps.repo.activate(domainId, pending.alg, pending.kid, newNext, this.deps.clock.now());
        this.invalidate(domainId);
      })();
      this.promoting.set(id, p);
      void p.finally(() => this.promoting.delete(id)).catch(() => {});
    }
    return p;
  }

  async verificationKey(domainId: string, kid: string): Promise<VerificationKey | undefined> {
    const keys = await this.load(domainId);
    return keys.byKid.get(kid);
  }

  /** The algorithms that have a loaded (decrypted) active key: a read only, for readiness (never creates keys). */
  async activeAlgs(domainId: string): Promise<SigningAlg[]> {
    return [...(await this.load(domainId)).active.keys()] as SigningAlg[];
  }

  async jwks(domainId: string): Promise<{ keys: Jwk[] }> {
    return (await this.load(domainId)).jwks;
  }

  async list(domainId: string): Promise<SigningKeyRecord[]> {
    return this.deps.repo.list(domainId);
  }

  /**
   * Rotate `alg`: promote `next` to `active`, retire the old active key (published for `retainSeconds`
   * more: the longest lifetime of a token it may have signed, plus the cache TTL of other nodes),
   * publish a new `next`. For an alg the domain has no key for, only publish one (`published`); for
   * an alg whose key is still waiting out the publish delay, change nothing (`pending`); once it has
   * waited long enough, it starts signing (`rotated`, nothing retired).
   */
  async rotate(domainId: string, alg: SigningAlg, retainSeconds: number, expect: { activeKid?: string } = {}): Promise<RotationResult> {
    // The key this call retires: the caller's (rotation by age names the key that aged), else the one
    // active when the call began. A retry after a lost race must not rotate a second time.
    let retiring = expect.activeKid;
    for (let attempt = 0; attempt < 3; attempt++) {
      let records = await this.deps.repo.list(domainId);
      const fresh = records.length === 0;
      let created = false;
      if (!records.some((r) => r.alg === alg && r.status === 'next')) {
        await this.ensure(domainId, alg);
        created = true;
        records = await this.deps.repo.list(domainId);
      }
      const active = records.find((r) => r.alg === alg && r.status === 'active');
      const next = records.find((r) => r.alg === alg && r.status === 'next');
      if (!next) continue;
      if (!active) {
        if (created || this.deps.clock.now() < this.signsFrom(next)) {
          return { outcome: created ? 'published' : 'pending', alg, next: { kid: next.kid, publishedAt: next.createdAt }, signsFrom: this.signsFrom(next) };
        }
        // Published long enough: let it sign now rather than at the next token that needs it.
        const newNext = await this.newRecord(domainId, alg, 'next');
        const ok = await this.deps.repo.activate(domainId, alg, next.kid, newNext, this.deps.clock.now());
        this.invalidate(domainId);
        if (ok) return { outcome: 'rotated', alg, active: { kid: next.kid, publishedAt: next.createdAt }, next: { kid: newNext.kid, publishedAt: newNext.createdAt } };
        continue;
      }
      if (retiring !== undefined && active.kid !== retiring) {
        return { outcome: 'superseded', alg, active: { kid: active.kid, publishedAt: active.createdAt } };
      }
      retiring = active.kid;
      // A domain without any key just got its first ones: nothing to rotate away from.
      if (fresh) return { outcome: 'rotated', alg, active: { kid: active.kid, publishedAt: active.createdAt }, next: { kid: next.kid, publishedAt: next.createdAt } };
      const newNext = await this.newRecord(domainId, alg, 'next');
      const now = this.deps.clock.now();
      const publishedUntil = now + (retainSeconds * 1000) + this.deps.cacheTtlMs;
      const ok = await this.deps.repo.rotate(domainId, alg, next.kid, newNext, now, publishedUntil);
      this.invalidate(domainId);
      if (ok) {
        return {
          outcome: 'rotated', alg, active: { kid: next.kid, publishedAt: next.createdAt },
          retired: { kid: active.kid, publishedUntil }, next: { kid: newNext.kid, publishedAt: newNext.createdAt },
        };
      }
    }
    throw new Error('key rotation kept losing a race; try again');
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * What a rotation did, in sentences for people (`tessera keys rotate`, the admin API's `message`).
 * `warning` when the key that signs now was published for less than the publish delay.
 */
export function describeRotation(r: RotationResult, o: { now: number; publishDelayMs: number; defaultAlg: SigningAlg }): { lines: string[]; warning?: string } {
  const { alg } = r;
  if (r.outcome === 'superseded') {
    return { lines: [`${alg}: another node or administrator rotated the key at the same moment; nothing more changed.${r.active ? ` Key ${r.active.kid} signs now.` : ''}`] };
  }
  if (r.outcome !== 'rotated') {
    const instead = alg === o.defaultAlg ? 'another active key of the domain' : `the default algorithm, ${o.defaultAlg}`;
    const when = r.signsFrom > o.now ? `in ${Math.ceil((r.signsFrom - o.now) / 1000)} s` : 'due now';
    const head = r.outcome === 'published'
      ? `${alg}: the domain had no ${alg} key; key ${r.next.kid} is published in the JWKS now`
      : `${alg}: nothing changed; key ${r.next.kid} was published at ${iso(r.next.publishedAt)}`;
    return {
      lines: [
        `${head} and starts signing at ${iso(r.signsFrom)} (${when}), once verifiers that cache the JWKS have it.`,
        `Until then, tokens that would use ${alg} are signed with ${instead}.`,
      ],
    };
  }
  const lines = [`${alg}: key ${r.active.kid} now signs (published since ${iso(r.active.publishedAt)}).`];
  if (r.retired) lines.push(`${alg}: key ${r.retired.kid} is retired; it stays published until ${iso(r.retired.publishedUntil)} so that tokens it signed still verify.`);
  lines.push(`${alg}: key ${r.next.kid} is published as the next key; the next rotation makes it sign.`);
  const age = o.now - r.active.publishedAt;
  if (r.retired && age < o.publishDelayMs) {
    return {
      lines,
      warning: `key ${r.active.kid} was published only ${Math.floor(age / 1000)} s ago (the publish delay is ${Math.round(o.publishDelayMs / 1000)} s): ` +
        'verifiers that cached the JWKS before then may reject its tokens until they fetch it again.',
    };
  }
  return { lines };
}
