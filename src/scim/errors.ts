/**
 * SCIM error responses (RFC 7644 §3.12).
 *
 * Every function of `src/scim/` reports a client error as a {@link ScimError}; errors raised by the
 * third-party SCIM libraries are translated before they reach a caller.
 */

export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 §3.12, Table 9: the `scimType` detail error keywords. */
export const SCIM_TYPES = [
  'invalidFilter',
  'tooMany',
  'uniqueness',
  'mutability',
  'invalidSyntax',
  'invalidPath',
  'noTarget',
  'invalidValue',
  'invalidVers',
  'sensitive',
] as const;

export type ScimType = (typeof SCIM_TYPES)[number];

export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: ScimType | undefined,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'ScimError';
  }
}

/** The JSON body of an RFC 7644 §3.12 error response. */
export interface ScimErrorBody {
  schemas: [typeof SCIM_ERROR_SCHEMA];
  /** RFC 7644 §3.12: "The HTTP status code ... expressed as a JSON string." */
  status: string;
  scimType?: ScimType;
  detail: string;
}

export function scimErrorBody(e: ScimError): ScimErrorBody {
  const body: ScimErrorBody = { schemas: [SCIM_ERROR_SCHEMA], status: String(e.status), detail: e.detail };
  // RFC 7644 §3.12: scimType is only defined for 400 responses; omit it when there is none.
  if (e.scimType !== undefined) body.scimType = e.scimType;
  return body;
}

export function isScimError(e: unknown): e is ScimError {
  return e instanceof ScimError;
}

/** Shorthand for the usual 400 with a `scimType`. */
export function badRequest(scimType: ScimType, detail: string): ScimError {
  return new ScimError(400, scimType, detail);
}

/** Quote a client-supplied string for an error detail, bounded so a huge input cannot bloat the response. */
export function quote(s: string, max = 80): string {
  const q = JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
  return q;
}
