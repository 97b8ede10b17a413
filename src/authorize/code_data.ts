import { num, object, opt, read, str, strs, bool } from '../core/shape.js';

/** What an authorization code stands for, as the authorization endpoint stores it and the token endpoint reads it. */
export type CodeData = {
  userId: string;
  redirectUri: string;
  redirectUriSent: boolean;
  scopes: string[];
  expiry?: number;
  nonce?: string;
  codeChallenge?: string;
  authTime: number;
  amr: string[];
  acr: string;
  sid?: string;
};

const CODE_DATA = object<CodeData>({
  userId: str, redirectUri: str, redirectUriSent: bool, scopes: strs, expiry: opt(num), nonce: opt(str), codeChallenge: opt(str),
  authTime: num, amr: strs, acr: str, sid: opt(str),
});

export const readCodeData = (data: unknown): CodeData => read(CODE_DATA, data, 'authorization code');
