/** What the server tells the page about itself: GET ./config.json beside index.html (no inline script under the CSP). */
export interface AppConfig {
  issuer: string;
  clientId: string;
  /** The scope the app asks for (the server decides it: the console's is __myscopes__ + Me, the account page's Me). */
  scope: string;
  domain: string;
  /** Base URL of the identity domain REST API, e.g. https://id.example/admin/v1 */
  adminApi: string;
}

export async function loadConfig(): Promise<AppConfig> {
  const r = await fetch('./config.json', { headers: { accept: 'application/json' }, cache: 'no-cache' });
  if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
  return (await r.json()) as AppConfig;
}
