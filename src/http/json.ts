/**
 * Request bodies read one way everywhere: JSON (application/json, application/scim+json), forms
 * (application/x-www-form-urlencoded), and the absence of a body.
 *
 * - JSON objects with a name given twice are refused at any depth: RFC 8259 §4 says names SHOULD be
 *   unique and leaves duplicates to the parser, I-JSON (RFC 7493 §2.3) says MUST NOT. JSON.parse keeps
 *   the last value, so `{"active":false,"active":true}` would mean whatever the last reader decided.
 * - `__proto__` and `constructor.prototype` are refused as before (secure-json-parse, as Fastify's
 *   default parser does), so a body cannot poison an object prototype through a later merge.
 * - Only UTF-8 is read (RFC 8259 §8.1: JSON exchanged between systems MUST be UTF-8; a form is
 *   decoded as UTF-8 by every endpoint here): another `charset` is refused rather than misread, and
 *   so are bytes that are not UTF-8.
 * - A request without a body is never refused for its Content-Type (many SCIM clients send
 *   `Content-Type: application/scim+json` on every DELETE); a body of a type nothing reads is.
 *
 * Duplicate names are found with jsonc-parser's visitor (comments disallowed; it only ever sees text
 * JSON.parse accepted), nesting is bounded so its recursion cannot overflow the stack, and all of it
 * is linear in the body's size.
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { visit } from 'jsonc-parser';
import sjson from 'secure-json-parse';
import { InvalidRequest } from '../core/errors.js';
import { FormBody } from './form.js';

/** Deepest nesting of arrays and objects accepted; admin and registration bodies need a handful. */
export const MAX_JSON_DEPTH = 64;

/**
 * A body that cannot be read as what it claims to be. 400 invalid_request at OAuth endpoints,
 * invalid_client_metadata at registration (RFC 7591 §3.2.2), invalidSyntax in the admin API.
 */
export class UnreadableBody extends InvalidRequest {
  constructor(description: string) {
    super(description);
    this.name = 'UnreadableBody';
  }
}

const clip = (s: string): string => s.slice(0, 80);

/**
 * RFC 9110 §8.3.1: media type parameters; only `charset` is looked at. Accepts utf-8 in any case
 * (and the common "utf8"); refuses every other charset instead of decoding it as UTF-8.
 */
export function checkCharset(contentType: string | undefined): void {
  if (!contentType) return;
  for (const part of contentType.split(';').slice(1)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    const cs = v.toLowerCase();
    if (cs !== 'utf-8' && cs !== 'utf8') throw new UnreadableBody(`charset ${clip(v)} is not supported; send UTF-8`);
  }
}

function utf8(raw: Buffer): string {
  if (!isUtf8(raw)) throw new UnreadableBody('the body is not valid UTF-8');
  return raw.toString('utf8');
}

/** Throws UnreadableBody for a name given twice in one object, or nesting deeper than MAX_JSON_DEPTH. */
function checkNames(text: string): void {
  const names: Set<string>[] = [];
  let depth = 0;
  const deeper = () => {
    if (++depth > MAX_JSON_DEPTH) throw new UnreadableBody(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  };
  visit(text, {
    onObjectBegin: () => { deeper(); names.push(new Set()); },
    onObjectEnd: () => { depth--; names.pop(); },
    onArrayBegin: () => { deeper(); },
    onArrayEnd: () => { depth--; },
    onObjectProperty: (name: string) => {
      const seen = names[names.length - 1]!;
      // RFC 7493 §2.3: names within an object MUST be unique (compared after unescaping, as here).
      if (seen.has(name)) throw new UnreadableBody(`the JSON member ${JSON.stringify(clip(name))} is given more than once`);
      seen.add(name);
    },
    onError: () => { throw new UnreadableBody('the body is not valid JSON'); },
  }, { disallowComments: true, allowTrailingComma: false });
}

/** A JSON request body: undefined when there is none; otherwise a value or UnreadableBody. */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  let text = utf8(raw);
  // RFC 8259 §8.1: a parser MAY ignore a byte order mark.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (e) {
    if (e instanceof SyntaxError && /forbidden prototype property/.test(e.message)) throw new UnreadableBody('the JSON body contains a forbidden prototype property');
    throw new UnreadableBody('the body is not valid JSON');
  }
  checkNames(text);
  return value;
}

const mediaType = (req: FastifyRequest): string => String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/** Install the body parsers of the whole app (replacing Fastify's JSON parser). */
export function registerBodyParsers(app: FastifyInstance): void {
  // Fastify's own: JSON is read below; nothing here reads text/plain, so it is refused like any unknown type.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'buffer' }, (req, body, done) => {
    try {
      checkCharset(req.headers['content-type']);
      done(null, parseJsonBody(body as Buffer));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      checkCharset(req.headers['content-type']);
      // An empty form is a form without parameters: each endpoint names the one it misses.
      done(null, new FormBody(utf8(body as Buffer)));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  // Every other type (and a body without Content-Type): no body is no problem; a body is refused,
  // since no route would read it.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    if ((body as Buffer).length === 0) done(null, undefined);
    else done(new UnreadableBody(mediaType(req) ? `unsupported content type ${clip(mediaType(req))}` : 'a body needs a Content-Type'), undefined);
  });
}
