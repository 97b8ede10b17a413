import { MAX_ACCESS_TOKEN_LIFETIME } from './core/types.js';
import type { Services } from './http/services.js';

/**
 * Periodic housekeeping, safe to run on every node and worker at once: purge expired opaque tokens, JWT
 * revocation records, used assertion ids, retired keys past their retention and old audit events;
 * rotate signing keys when automatic rotation is on.
 */
export async function runMaintenance(s: Services): Promise<Record<string, number>> {
  const now = s.clock.now();
  const out: Record<string, number> = {
    tokens: await s.repos.tokens.purgeExpired(now),
    revocations: await s.repos.revocations.purgeExpired(now),
    assertionJtis: await s.repos.assertionJtis.purgeExpired(now),
    sessions: await s.repos.sessions.purgeExpired(now),
    authFlows: await s.repos.authFlows.purgeExpired(now),
    codes: await s.repos.codes.purgeExpired(now),
    deviceCodes: await s.repos.deviceCodes.purgeExpired(now),
    keys: await s.repos.keys.deleteExpired(now),
    audit: await s.repos.audit.purgeBefore(now - s.config.auditRetentionDays * 86_400_000),
    rotated: 0,
  };
  if (s.config.keyRotationDays > 0) {
    const maxAge = s.config.keyRotationDays * 86_400_000;
    for (const d of await s.repos.domains.list()) {
      const keys = await s.repos.keys.list(d.id);
      for (const k of keys) {
        if (k.status === 'active' && now - (k.activatedAt ?? k.createdAt) > maxAge) {
          // Every node runs this; naming the aged key makes exactly one of them rotate it.
          const r = await s.keys.rotate(d.id, k.alg, await retention(s, d.id), { activeKid: k.kid });
          if (r.outcome === 'rotated') out.rotated!++;
        }
      }
    }
  }
  return out;
}

/** How long a retired key must stay published: the longest access-token lifetime the domain can issue. */
export async function retention(s: Services, domainId: string): Promise<number> {
  const apps = await s.repos.apps.list(domainId);
  const d = await s.repos.domains.get(domainId);
  let max = d?.settings.accessTokenTtl ?? s.config.accessTokenTtl;
  for (const a of apps) if (a.accessTokenExpiry !== undefined) max = Math.max(max, a.accessTokenExpiry);
  return Math.min(max, MAX_ACCESS_TOKEN_LIFETIME) + s.config.clockSkewSeconds;
}

export function startMaintenance(s: Services, intervalSeconds: number): () => void {
  if (intervalSeconds <= 0) return () => {};
  let running = false;
  const t = setInterval(() => {
    if (running) return;
    running = true;
    runMaintenance(s).catch((err) => s.log.error({ err }, 'maintenance failed')).finally(() => { running = false; });
  }, intervalSeconds * 1000);
  t.unref();
  return () => clearInterval(t);
}
