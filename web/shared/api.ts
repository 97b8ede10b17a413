/**
 * The admin API client: the signed-in user's bearer token against /admin/v1 and nothing else, so
 * nothing the browser apps do is impossible with curl.
 * - SCIM errors become ApiError with `status`, `scimType` and `detail`.
 * - 401 (token expired or revoked) signs in again (a redirect; the SSO session makes it silent).
 * - 403 becomes an ApiError whose message says the user's roles do not allow the action.
 */
export class ApiError extends Error {
  constructor(readonly status: number, readonly detail: string, readonly scimType?: string) {
    super(status === 403 ? `Your roles do not allow this. ${detail}`.trim() : detail);
  }
  get forbidden(): boolean { return this.status === 403; }
}

export interface ListResponse<T> { totalResults: number; startIndex?: number; itemsPerPage?: number; Resources?: T[] }
export type Query = Record<string, string | number | undefined>;

export interface Api {
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  del(path: string): Promise<void>;
  /** GET a SCIM list (`filter`, `startIndex`, `count`, `sortBy`...). */
  list<T>(resource: string, query?: Query): Promise<ListResponse<T>>;
}

export const SCIM_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** A SCIM filter string literal: quotes and backslashes escaped (RFC 7644 §3.4.2.2). */
export function scimString(v: string): string {
  return `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export function createApi(base: string, token: () => string, onUnauthorized: () => void): Api {
  const call = async <T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> => {
    const url = new URL(`${base}/${path.replace(/^\//, '')}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { authorization: `Bearer ${token()}`, accept: 'application/scim+json, application/json' };
    if (body !== undefined) headers['content-type'] = 'application/scim+json';
    let r: Response;
    try {
      r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
    } catch {
      throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.');
    }
    if (r.status === 401) {
      onUnauthorized();
      throw new ApiError(401, 'Your session has ended. Signing in again…');
    }
    const text = await r.text();
    const json = text ? safeJson(text) : undefined;
    if (!r.ok) {
      const e = (json ?? {}) as { detail?: string; scimType?: string; error_description?: string };
      throw new ApiError(r.status, e.detail ?? e.error_description ?? `The server answered HTTP ${r.status}.`, e.scimType);
    }
    return json as T;
  };
  return {
    get: (p, q) => call('GET', p, undefined, q),
    post: (p, b) => call('POST', p, b),
    put: (p, b) => call('PUT', p, b),
    patch: (p, b) => call('PATCH', p, b),
    del: async (p) => { await call('DELETE', p); },
    list: (resource, q) => call('GET', resource, undefined, q),
  };
}

function safeJson(text: string): unknown {
  try { return JSON.parse(text); } catch { return undefined; }
}
