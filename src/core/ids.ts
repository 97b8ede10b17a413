import { randomBytes, randomUUID } from 'node:crypto';

/** SCIM resource ids. */
export const newId = (): string => randomUUID().replace(/-/g, '');
/** OAuth client_id: 128 random bits, hex (Oracle style 32 hex characters). */
export const newClientId = (): string => randomBytes(16).toString('hex');
/** Client secrets, opaque tokens, registration access tokens: 256 random bits (RFC 6749 §10.10). */
export const newSecret = (): string => randomBytes(32).toString('base64url');
/** JWT ids: 128 random bits. */
export const newJti = (): string => randomBytes(16).toString('base64url');
