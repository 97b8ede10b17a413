/**
 * RFC 6749 §3.1.1 / OIDC Core §3: the response types the authorization endpoint parses. The grants that
 * serve them declare them too (src/grants/index.ts checks that the two agree), and discovery lists them.
 */
export const RESPONSE_TYPES = ['code', 'token', 'id_token', 'id_token token'] as const;
export type ResponseType = (typeof RESPONSE_TYPES)[number];
