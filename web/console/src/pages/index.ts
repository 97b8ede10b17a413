import type { PageDef } from './types.js';
import { overviewPage } from './overview.js';
import { usersPage } from './users.js';
import { groupsPage } from './groups.js';
import { appsPage } from './apps.js';
import { rolesPage } from './roles.js';
import { auditPage } from './audit.js';
import { issuersPage } from './issuers.js';
import { keysPage } from './keys.js';
import { settingsPage } from './settings.js';
import { domainsPage } from './domains.js';

/**
 * The console's pages, in navigation order. To add a page: create pages/<name>.tsx exporting a
 * PageDef, and add it here (one line). The first allowed page is the home page.
 */
export const PAGES: PageDef[] = [
  overviewPage,
  usersPage,
  groupsPage,
  appsPage,
  rolesPage,
  auditPage,
  issuersPage,
  keysPage,
  settingsPage,
  domainsPage,
];
