import { sql, type Kysely, type Selectable } from 'kysely';
import { asConflict } from './errors.js';
import type { DeviceCodeRecord, DeviceCodeRepository, DeviceCodeStatus } from './ports.js';
import type { DB } from './schema.js';

/** Migration 0007 (portable conventions of schema.ts: epoch ms, JSON text). */
export interface DeviceCodesTable {
  device_code_hash: string; domain_id: string; user_code_hash: string; client_id: string; grant_id: string; scopes: string;
  poll_interval: number; last_poll_at: number | null; status: string; user_id: string | null; approval: string | null;
  created_at: number; expires_at: number;
}
type DDB = DB & { device_codes: DeviceCodesTable };

const changed = (r: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): number => Number(r.numUpdatedRows ?? r.numDeletedRows ?? 0n);
const STATUSES: readonly DeviceCodeStatus[] = ['pending', 'approved', 'denied', 'redeemed'];

export class KyselyDeviceCodeRepository implements DeviceCodeRepository {
  private db: Kysely<DDB>;
  constructor(db: Kysely<DB>) { this.db = db.withTables<{ device_codes: DeviceCodesTable }>(); }

  private map(r: Selectable<DeviceCodesTable>): DeviceCodeRecord {
    const status = STATUSES.find((x) => x === r.status);
    if (!status) throw new Error(`device code with unknown status ${r.status.slice(0, 20)}`);
    const rec: DeviceCodeRecord = {
      deviceCodeHash: r.device_code_hash, userCodeHash: r.user_code_hash, domainId: r.domain_id, clientId: r.client_id, grantId: r.grant_id,
      scopes: JSON.parse(r.scopes) as string[], interval: Number(r.poll_interval), status, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at),
    };
    if (r.last_poll_at !== null) rec.lastPollAt = Number(r.last_poll_at);
    if (r.user_id !== null) rec.userId = r.user_id;
    if (r.approval !== null) rec.approval = JSON.parse(r.approval) as Record<string, unknown>;
    return rec;
  }

  async create(d: DeviceCodeRecord) {
    try {
      await this.db.insertInto('device_codes').values({
        device_code_hash: d.deviceCodeHash, domain_id: d.domainId, user_code_hash: d.userCodeHash, client_id: d.clientId, grant_id: d.grantId,
        scopes: JSON.stringify(d.scopes), poll_interval: d.interval, last_poll_at: d.lastPollAt ?? null, status: d.status, user_id: d.userId ?? null,
        approval: d.approval ? JSON.stringify(d.approval) : null, created_at: d.createdAt, expires_at: d.expiresAt,
      }).execute();
    } catch (e) { throw asConflict(e, { user_code: 'userCode', device_codes_pkey: 'deviceCode', device_code_hash: 'deviceCode' }) ?? e; }
  }
  async get(deviceCodeHash: string) {
    const r = await this.db.selectFrom('device_codes').selectAll().where('device_code_hash', '=', deviceCodeHash).executeTakeFirst();
    return r && this.map(r);
  }
  async getByUserCode(domainId: string, userCodeHash: string) {
    const r = await this.db.selectFrom('device_codes').selectAll().where('domain_id', '=', domainId).where('user_code_hash', '=', userCodeHash).executeTakeFirst();
    return r && this.map(r);
  }
  async poll(deviceCodeHash: string, now: number) {
    // On time: the conditional UPDATE records the poll only if the interval has passed since the last one.
    const onTime = changed(await this.db.updateTable('device_codes').set({ last_poll_at: now })
      .where('device_code_hash', '=', deviceCodeHash).where('status', '=', 'pending')
      .where((eb) => eb.or([eb('last_poll_at', 'is', null), eb('last_poll_at', '<=', sql<number>`CAST(${now} AS bigint) - poll_interval * 1000`)]))
      .executeTakeFirst()) === 1;
    if (onTime) return 'ok' as const;
    // Too soon: RFC 8628 §3.5 slow_down, and the interval grows by 5 s for this device code from now on.
    const slowed = changed(await this.db.updateTable('device_codes').set({ last_poll_at: now, poll_interval: sql<number>`poll_interval + 5` })
      .where('device_code_hash', '=', deviceCodeHash).where('status', '=', 'pending').executeTakeFirst()) === 1;
    return slowed ? 'slow_down' as const : undefined;
  }
  async approve(deviceCodeHash: string, userId: string, approval: Record<string, unknown>, now: number) {
    return changed(await this.db.updateTable('device_codes').set({ status: 'approved', user_id: userId, approval: JSON.stringify(approval) })
      .where('device_code_hash', '=', deviceCodeHash).where('status', '=', 'pending').where('expires_at', '>', now).executeTakeFirst()) === 1;
  }
  async deny(deviceCodeHash: string, now: number) {
    return changed(await this.db.updateTable('device_codes').set({ status: 'denied' })
      .where('device_code_hash', '=', deviceCodeHash).where('status', '=', 'pending').where('expires_at', '>', now).executeTakeFirst()) === 1;
  }
  async redeem(deviceCodeHash: string, now: number) {
    return changed(await this.db.updateTable('device_codes').set({ status: 'redeemed' })
      .where('device_code_hash', '=', deviceCodeHash).where('status', '=', 'approved').where('expires_at', '>', now).executeTakeFirst()) === 1;
  }
  async purgeExpired(now: number) {
    // Redeemed and denied codes are kept until they expire, so a replay is still told apart from an unknown code.
    return changed(await this.db.deleteFrom('device_codes').where('expires_at', '<', now).executeTakeFirst());
  }
}
