import type { ComponentType } from 'preact';
import type { AppConfig } from '../../../shared/config.js';
import type { Scopes } from '../../../shared/scopes.js';
import type { Route } from '../router.js';

/**
 * A console page. One file in pages/ exports one PageDef; pages/index.ts lists them in nav order.
 * `path` is the hash route (`/users` = `#/users`); `allowed` decides from the token's scopes whether
 * the page is in the navigation and can be opened (the server checks again on every request); `cfg`
 * tells which domain the console is in (some pages exist only in the default domain).
 */
export interface PageDef {
  path: string;
  title: string;
  allowed(scopes: Scopes, cfg: AppConfig): boolean;
  component: ComponentType<{ route: Route }>;
}
