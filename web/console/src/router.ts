import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routing (`/console/#/users?filter=x`): one redirect URI per app, no server fallback.
 * A route is the path after `#`, without its query; `query` holds what follows `?`.
 */
export interface Route { path: string; query: URLSearchParams }

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, q] = raw.split('?', 2) as [string, string | undefined];
  return { path: path.startsWith('/') ? path : `/${path}`, query: new URLSearchParams(q ?? '') };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** A link target for a route: `href(\`/users\`)` = `#/users`. */
export function href(path: string, query?: Record<string, string>): string {
  const q = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '')).toString() : '';
  return `#${path}${q ? `?${q}` : ''}`;
}

export function navigate(path: string, query?: Record<string, string>): void {
  location.hash = href(path, query);
}
