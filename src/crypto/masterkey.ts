import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The master key encrypts private signing keys and client_secret_jwt secrets at rest (AES-256-GCM)
 * and keys the hash of client secrets (HMAC-SHA-256), so a database dump alone reveals neither.
 */
export class MasterKey {
  private readonly encKey: Buffer;
  private readonly pepper: Buffer;
  constructor(raw: Buffer) {
    if (raw.length !== 32) throw new Error('master key must be 32 bytes');
    // Separate subkeys per purpose (HKDF-style expansion with HMAC).
    this.encKey = createHmac('sha256', raw).update('tessera/enc/v1').digest();
    this.pepper = createHmac('sha256', raw).update('tessera/pepper/v1').digest();
  }

  static fromString(s: string): MasterKey {
    return new MasterKey(Buffer.from(s, s.length === 64 && /^[0-9a-f]+$/i.test(s) ? 'hex' : 'base64'));
  }

  /** Use the configured key, or read/generate `dataDir/master.key`. */
  static load(configured: string | undefined, dataDir: string, warn: (msg: string) => void): MasterKey {
    if (configured) return MasterKey.fromString(configured);
    const path = join(dataDir, 'master.key');
    if (existsSync(path)) return MasterKey.fromString(readFileSync(path, 'utf8').trim());
    mkdirSync(dataDir, { recursive: true });
    const key = randomBytes(32).toString('base64');
    writeFileSync(path, key + '\n', { mode: 0o600, flag: 'wx' });
    warn(`TESSERA_MASTER_KEY is not set: generated ${path}. Back it up, and give every node sharing the database the same key.`);
    return MasterKey.fromString(key);
  }

  /** AES-256-GCM; output `v1.iv.tag.ciphertext`, base64url parts. `aad` binds the ciphertext to its owner. */
  encrypt(plain: string, aad: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.encKey, iv);
    c.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  decrypt(box: string, aad: string): string {
    const [v, iv, tag, ct] = box.split('.');
    if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('unsupported ciphertext');
    const d = createDecipheriv('aes-256-gcm', this.encKey, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
  }

  /** Keyed hash for client secrets: HMAC-SHA-256(pepper, salt || secret). */
  hmac(salt: string, value: string): Buffer {
    return createHmac('sha256', this.pepper).update(salt).update('\0').update(value).digest();
  }
}
