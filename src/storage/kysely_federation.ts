import type { Kysely, Selectable } from 'kysely';
import type { TrustedIssuerProtocol, TrustedIssuerRecord } from '../core/types.js';
import { asConflict } from './errors.js';
import { StaleVersion, type TrustedIssuerRepository } from './ports.js';
import type { DB } from './schema.js';

/** Migration 0006 (portable conventions of schema.ts: epoch ms, 0/1, JSON text). */
export interface TrustedIssuersTable {
  id: string; domain_id: string; protocol: string; issuer: string; active: number; data: string;
  version: number; created_at: number; updated_at: number;
}
type FDB = DB & { trusted_issuers: TrustedIssuersTable };

const changed = (r: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): number => Number(r.numUpdatedRows ?? r.numDeletedRows ?? 0n);

export class KyselyTrustedIssuerRepository implements TrustedIssuerRepository {
  private db: Kysely<FDB>;
  constructor(db: Kysely<DB>) { this.db = db.withTables<{ trusted_issuers: TrustedIssuersTable }>(); }

  private map(r: Selectable<TrustedIssuersTable>): TrustedIssuerRecord {
    const d = JSON.parse(r.data) as Omit<TrustedIssuerRecord, 'id' | 'domainId' | 'protocol' | 'issuer' | 'active' | 'version' | 'createdAt' | 'updatedAt'>;
    return {
      ...d, id: r.id, domainId: r.domain_id, protocol: r.protocol as TrustedIssuerProtocol, issuer: r.issuer, active: r.active === 1,
      version: r.version, createdAt: r.created_at, updatedAt: r.updated_at,
    };
  }
  private row(t: TrustedIssuerRecord): TrustedIssuersTable {
    const { id, domainId, protocol, issuer, active, version, createdAt, updatedAt, ...data } = t;
    return { id, domain_id: domainId, protocol, issuer, active: active ? 1 : 0, data: JSON.stringify(data), version, created_at: createdAt, updated_at: updatedAt };
  }

  async get(domainId: string, id: string) {
    if (id.includes('\0')) return undefined;
    const r = await this.db.selectFrom('trusted_issuers').selectAll().where('domain_id', '=', domainId).where('id', '=', id).executeTakeFirst();
    return r && this.map(r);
  }
  async getByIssuer(domainId: string, protocol: TrustedIssuerProtocol, issuer: string) {
    // An issuer string from an assertion: PostgreSQL text cannot hold U+0000, and nothing this long is trusted.
    if (issuer.length === 0 || issuer.length > 2048 || issuer.includes('\0')) return undefined;
    const r = await this.db.selectFrom('trusted_issuers').selectAll().where('domain_id', '=', domainId).where('protocol', '=', protocol)
      .where('issuer', '=', issuer).executeTakeFirst();
    return r && this.map(r);
  }
  async list(domainId: string) {
    return (await this.db.selectFrom('trusted_issuers').selectAll().where('domain_id', '=', domainId).orderBy('created_at').orderBy('id').execute()).map((r) => this.map(r));
  }
  async create(t: TrustedIssuerRecord) {
    try { await this.db.insertInto('trusted_issuers').values(this.row(t)).execute(); } catch (e) { throw asConflict(e, { trusted_issuers: 'issuer', issuer: 'issuer' }) ?? e; }
  }
  async update(t: TrustedIssuerRecord, expectedVersion: number) {
    const next = { ...t, version: expectedVersion + 1 };
    let r;
    try {
      r = await this.db.updateTable('trusted_issuers').set(this.row(next)).where('domain_id', '=', t.domainId).where('id', '=', t.id)
        .where('version', '=', expectedVersion).executeTakeFirst();
    } catch (e) { throw asConflict(e, { trusted_issuers: 'issuer', issuer: 'issuer' }) ?? e; }
    if (changed(r) !== 1) throw new StaleVersion();
    return next;
  }
  async delete(domainId: string, id: string, expectedVersion?: number) {
    let q = this.db.deleteFrom('trusted_issuers').where('domain_id', '=', domainId).where('id', '=', id);
    if (expectedVersion !== undefined) q = q.where('version', '=', expectedVersion);
    return changed(await q.executeTakeFirst()) === 1;
  }
}
