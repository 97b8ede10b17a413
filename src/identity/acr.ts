/** Authentication context class references (OIDC Core §2 `acr`): password alone, or with a second factor. */
export const ACR_PASSWORD = 'urn:tessera:acr:pwd';
export const ACR_MFA = 'urn:tessera:acr:mfa';
