/**
 * RFC 8693 §4.1: the `act` (actor) claim of a delegated token. The outermost `act` names the party acting now;
 * a nested `act` names the one that acted before it (a chain of delegation). Tessera writes `sub` (the actor's
 * subject: a client id or a user id) and, for an actor vouched for by a trusted issuer, `iss`.
 */
export interface Act {
  sub: string;
  iss?: string;
  act?: Act;
}

/** How many actors a chain may name (and how many exchanges deep a token may be): longer chains are refused. */
export const MAX_DELEGATION_DEPTH = 5;
const MAX_NAME = 1024;

const name = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME && !v.includes('\0');

/**
 * An `act` value read back from a token (ours, or a trusted issuer's JWT): an object with a string `sub`, an
 * optional `iss` and an optional nested `act`, at most MAX_DELEGATION_DEPTH deep. Other members are dropped
 * (RFC 8693 §4.1: they are not used for access control decisions). `null` when present but unusable.
 */
export function readAct(v: unknown, depth = 1): Act | undefined | null {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || depth > MAX_DELEGATION_DEPTH) return null;
  const o = v as Record<string, unknown>;
  if (!name(o.sub) || (o.iss !== undefined && !name(o.iss))) return null;
  const out: Act = { sub: o.sub };
  if (o.iss !== undefined) out.iss = o.iss as string;
  if (o.act !== undefined) {
    const inner = readAct(o.act, depth + 1);
    if (!inner) return null;
    out.act = inner;
  }
  return out;
}

/** The number of actors in a chain. */
export const actDepth = (a: Act | undefined): number => (a ? 1 + actDepth(a.act) : 0);

/**
 * The ids of the tokens a token was exchanged from (its subject token, that token's own subject token, ...),
 * newest first: each is checked against the revocation list whenever the token is used, so revoking any of
 * them ends the tokens exchanged from it. `null` when present but unusable.
 */
export function readExchangedFrom(v: unknown): string[] | undefined | null {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_DELEGATION_DEPTH || !v.every((x) => name(x) && x.length <= 256)) return null;
  return v as string[];
}
