/** Start-up shared by the browser apps: config, sign-in, the API client. */
import { createApi, type Api } from './api.js';
import { loadConfig, type AppConfig } from './config.js';
import { beginSignIn, signIn, signOut, type Session } from './oidc.js';
import { Scopes } from './scopes.js';

export interface AppContext {
  cfg: AppConfig;
  session: Session;
  api: Api;
  scopes: Scopes;
  /** The signed-in user's name to show (from /admin/v1/Me: the ID token carries no profile claims). */
  userLabel: string;
  signOut(): Promise<never>;
}

interface MeSummary { userName?: string; displayName?: string }

export async function boot(): Promise<AppContext> {
  const cfg = await loadConfig();
  const session = await signIn(cfg);
  let redirecting = false;
  const api = createApi(cfg.adminApi, () => session.accessToken, () => {
    if (redirecting) return;
    redirecting = true;
    void beginSignIn(cfg);
  });
  const me = await api.get<MeSummary>('Me', { attributes: 'userName,displayName' }).catch(() => ({}) as MeSummary);
  const userLabel = me.displayName ?? me.userName ?? String(session.claims.preferred_username ?? session.claims.sub ?? '');
  return { cfg, session, api, scopes: new Scopes(session.scopes), userLabel, signOut: () => signOut(cfg, session) };
}

/** Renders a start-up failure without any framework (the app could not start). */
export function showFatal(root: HTMLElement, title: string, message: string): void {
  root.replaceChildren();
  const main = document.createElement('main');
  main.className = 'fatal';
  const h = document.createElement('h1');
  h.textContent = title;
  const p = document.createElement('p');
  p.setAttribute('role', 'alert');
  p.textContent = message;
  const a = document.createElement('a');
  a.href = './';
  a.textContent = 'Try again';
  main.append(h, p, a);
  root.append(main);
}
