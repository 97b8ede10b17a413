/** RFC 6749 §5.1, with RFC 8693 §2.2.1's issued_token_type for grants that issue other token types. */
export interface TokenResponse {
  access_token: string;
  /** `N_A` when the issued token is not an access token (RFC 8693 §2.2.1). */
  token_type: 'Bearer' | 'N_A';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  issued_token_type?: string;
}
