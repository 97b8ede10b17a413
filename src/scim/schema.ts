/**
 * Resource schemas (RFC 7643 §7), resource types (RFC 7643 §6) and the discovery documents built from
 * them (RFC 7644 §4).
 */
import { resolvePath } from './paths.js';

export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';

/** RFC 7643 §2.3: the attribute data types. */
export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
/** RFC 7643 §7 "mutability". */
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
/** RFC 7643 §7 "returned". */
export type Returned = 'always' | 'never' | 'default' | 'request';
/** RFC 7643 §7 "uniqueness". */
export type Uniqueness = 'none' | 'server' | 'global';

/** One attribute definition, with every characteristic of RFC 7643 §7 spelled out. */
export interface AttributeDef {
  readonly name: string;
  readonly type: AttributeType;
  readonly multiValued: boolean;
  readonly description: string;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: Mutability;
  readonly returned: Returned;
  readonly uniqueness: Uniqueness;
  /** Only for `complex` attributes. */
  readonly subAttributes?: readonly AttributeDef[];
  readonly canonicalValues?: readonly string[];
  /** Only for `reference` attributes, e.g. `['User', 'Group']`, `['external']`, `['uri']`. */
  readonly referenceTypes?: readonly string[];
}

/** RFC 7643 §7: a schema definition (`/Schemas/{id}`). */
export interface SchemaDef {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly AttributeDef[];
}

export interface SchemaExtensionRef {
  readonly schema: string;
  readonly required: boolean;
}

/** RFC 7643 §6: a resource type (`/ResourceTypes/{id}`). */
export interface ResourceTypeDef {
  readonly id: string;
  readonly name: string;
  readonly endpoint: string;
  readonly description: string;
  /** The id of the core schema. */
  readonly schema: string;
  readonly schemaExtensions?: readonly SchemaExtensionRef[];
}

/**
 * A core schema together with its extension schemas (RFC 7643 §3.3), e.g. User + the enterprise user
 * extension. Every function taking a schema accepts a plain {@link SchemaDef} or a bundle.
 */
export interface SchemaBundle {
  readonly core: SchemaDef;
  readonly extensions: readonly { readonly schema: SchemaDef; readonly required: boolean }[];
}

export type SchemaInput = SchemaDef | SchemaBundle;

export function isSchemaBundle(s: SchemaInput): s is SchemaBundle {
  return 'core' in s;
}

/** Build the bundle for a resource type out of a list of known schemas. */
export function schemaBundle(rt: ResourceTypeDef, schemas: readonly SchemaDef[]): SchemaBundle {
  const byId = (id: string): SchemaDef => {
    const s = schemas.find((x) => x.id.toLowerCase() === id.toLowerCase());
    if (!s) throw new Error(`resource type ${rt.id}: schema ${id} is not defined`);
    return s;
  };
  return {
    core: byId(rt.schema),
    extensions: (rt.schemaExtensions ?? []).map((e) => ({ schema: byId(e.schema), required: e.required })),
  };
}

/** The fields of {@link AttributeDef} that have RFC 7643 §2.2 defaults may be left out. */
export interface AttributeInit {
  readonly name: string;
  readonly type?: AttributeType;
  readonly multiValued?: boolean;
  readonly description?: string;
  readonly required?: boolean;
  readonly caseExact?: boolean;
  readonly mutability?: Mutability;
  readonly returned?: Returned;
  readonly uniqueness?: Uniqueness;
  readonly subAttributes?: readonly AttributeInit[];
  readonly canonicalValues?: readonly string[];
  readonly referenceTypes?: readonly string[];
}

const ATTRNAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/;

/**
 * Fill in the RFC 7643 §2.2 defaults: type string, singular, optional, case-insensitive, readWrite,
 * returned by default, no uniqueness.
 */
export function defineAttribute(init: AttributeInit): AttributeDef {
  // RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar); `$ref` is the one reserved exception (§2.3.7).
  if (!ATTRNAME.test(init.name)) throw new Error(`invalid SCIM attribute name ${init.name}`);
  const type = init.type ?? (init.subAttributes ? 'complex' : 'string');
  if (type === 'complex' && !init.subAttributes?.length) throw new Error(`complex attribute ${init.name} needs subAttributes`);
  if (type !== 'complex' && init.subAttributes) throw new Error(`attribute ${init.name} of type ${type} cannot have subAttributes`);
  const def: AttributeDef = {
    name: init.name,
    type,
    multiValued: init.multiValued ?? false,
    description: init.description ?? '',
    required: init.required ?? false,
    // RFC 7643 §2.3.7: references are case-exact; §2.3.6: so is binary data.
    caseExact: init.caseExact ?? (type === 'reference' || type === 'binary'),
    mutability: init.mutability ?? 'readWrite',
    returned: init.returned ?? 'default',
    uniqueness: init.uniqueness ?? 'none',
    ...(init.subAttributes ? { subAttributes: init.subAttributes.map(defineAttribute) } : {}),
    ...(init.canonicalValues ? { canonicalValues: [...init.canonicalValues] } : {}),
    ...(type === 'reference' ? { referenceTypes: [...(init.referenceTypes ?? ['external'])] } : {}),
  };
  const names = new Set<string>();
  for (const s of def.subAttributes ?? []) {
    if (names.has(s.name.toLowerCase())) throw new Error(`attribute ${init.name}: sub-attribute ${s.name} defined twice`);
    names.add(s.name.toLowerCase());
  }
  return def;
}

/** Build a schema, checking attribute names are unique case-insensitively (RFC 7643 §2.1). */
export function defineSchema(s: { id: string; name: string; description: string; attributes: readonly AttributeDef[] }): SchemaDef {
  const names = new Set<string>();
  for (const a of s.attributes) {
    if (names.has(a.name.toLowerCase())) throw new Error(`schema ${s.id}: attribute ${a.name} defined twice`);
    names.add(a.name.toLowerCase());
  }
  return { id: s.id, name: s.name, description: s.description, attributes: s.attributes };
}

// ---------------------------------------------------------------------------------------------
// RFC 7643 §3.1: common attributes, part of every resource but defined by no schema.

/** RFC 7643 §3.1 `id`: server-assigned, case-exact, always returned, never changed. */
export const ID_ATTRIBUTE: AttributeDef = defineAttribute({
  name: 'id',
  description: 'Unique identifier of the resource, assigned by the service provider.',
  caseExact: true,
  mutability: 'readOnly',
  returned: 'always',
  uniqueness: 'server',
});

/** RFC 7643 §3.1 `externalId`: the client's identifier for the resource. */
export const EXTERNAL_ID_ATTRIBUTE: AttributeDef = defineAttribute({
  name: 'externalId',
  description: 'Identifier of the resource as defined by the provisioning client.',
  caseExact: true,
});

/** RFC 7643 §3.1 `meta`: read-only resource metadata. */
export const META_ATTRIBUTE: AttributeDef = defineAttribute({
  name: 'meta',
  type: 'complex',
  description: 'Resource metadata.',
  mutability: 'readOnly',
  subAttributes: [
    { name: 'resourceType', description: 'Name of the resource type of the resource.', caseExact: true, mutability: 'readOnly' },
    { name: 'created', type: 'dateTime', description: 'When the resource was added to the service provider.', mutability: 'readOnly' },
    { name: 'lastModified', type: 'dateTime', description: 'When the resource was last modified.', mutability: 'readOnly' },
    { name: 'location', type: 'reference', referenceTypes: ['uri'], description: 'URI of the resource.', mutability: 'readOnly' },
    { name: 'version', description: 'Version (entity tag) of the resource.', caseExact: true, mutability: 'readOnly' },
  ],
});

export const COMMON_ATTRIBUTES: readonly AttributeDef[] = [ID_ATTRIBUTE, EXTERNAL_ID_ATTRIBUTE, META_ATTRIBUTE];

/**
 * Find an attribute by path, case-insensitively (RFC 7643 §2.1): `displayName`, `meta.lastModified`,
 * `urn:…:App:displayName` (RFC 7644 §3.10) or, with a bundle, `urn:…:extension:…:attr`.
 */
export function findAttribute(schema: SchemaInput, path: string): AttributeDef | undefined {
  const chain = resolvePath(schema, path);
  return chain?.[chain.length - 1]?.def;
}

// ---------------------------------------------------------------------------------------------
// Discovery documents (RFC 7644 §4).

export interface ScimMetaJson {
  resourceType: string;
  location: string;
}

export interface ScimAttributeJson {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  canonicalValues?: string[];
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: Uniqueness;
  referenceTypes?: string[];
  subAttributes?: ScimAttributeJson[];
}

export interface ScimSchemaJson {
  schemas: [typeof SCHEMA_SCHEMA];
  id: string;
  name: string;
  description: string;
  attributes: ScimAttributeJson[];
  meta: ScimMetaJson;
}

export interface ScimResourceTypeJson {
  schemas: [typeof RESOURCE_TYPE_SCHEMA];
  id: string;
  name: string;
  endpoint: string;
  description: string;
  schema: string;
  schemaExtensions?: { schema: string; required: boolean }[];
  meta: ScimMetaJson;
}

const trimBase = (baseUrl: string): string => baseUrl.replace(/\/+$/, '');

/** RFC 7643 §7: the JSON form of one attribute definition. */
export function attributeToScim(a: AttributeDef): ScimAttributeJson {
  const out: ScimAttributeJson = {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued,
    description: a.description,
    required: a.required,
    caseExact: a.caseExact,
    mutability: a.mutability,
    returned: a.returned,
    uniqueness: a.uniqueness,
  };
  if (a.canonicalValues) out.canonicalValues = [...a.canonicalValues];
  if (a.referenceTypes) out.referenceTypes = [...a.referenceTypes];
  if (a.subAttributes) out.subAttributes = a.subAttributes.map(attributeToScim);
  return out;
}

/** RFC 7643 §7 / RFC 7644 §4: the `/Schemas/{id}` document. */
export function schemaToScim(schema: SchemaDef, baseUrl: string): ScimSchemaJson {
  return {
    schemas: [SCHEMA_SCHEMA],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.map(attributeToScim),
    meta: { resourceType: 'Schema', location: `${trimBase(baseUrl)}/Schemas/${schema.id}` },
  };
}

/** RFC 7643 §6 / RFC 7644 §4: the `/ResourceTypes/{id}` document. */
export function resourceTypeToScim(rt: ResourceTypeDef, baseUrl: string): ScimResourceTypeJson {
  const out: ScimResourceTypeJson = {
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: rt.id,
    name: rt.name,
    endpoint: rt.endpoint,
    description: rt.description,
    schema: rt.schema,
    meta: { resourceType: 'ResourceType', location: `${trimBase(baseUrl)}/ResourceTypes/${rt.id}` },
  };
  if (rt.schemaExtensions?.length) out.schemaExtensions = rt.schemaExtensions.map((e) => ({ schema: e.schema, required: e.required }));
  return out;
}

export interface ServiceProviderConfigOptions {
  /** RFC 7643 §5 `changePassword.supported`. */
  changePassword: boolean;
  /** RFC 7643 §5 `filter.maxResults`; default 1000 (the count cap of parseListQuery). */
  maxResults?: number;
  documentationUri?: string;
}

export interface ScimServiceProviderConfigJson {
  schemas: [typeof SERVICE_PROVIDER_CONFIG_SCHEMA];
  documentationUri?: string;
  patch: { supported: boolean };
  bulk: { supported: boolean; maxOperations: number; maxPayloadSize: number };
  filter: { supported: boolean; maxResults: number };
  changePassword: { supported: boolean };
  sort: { supported: boolean };
  etag: { supported: boolean };
  authenticationSchemes: { type: string; name: string; description: string; specUri: string; documentationUri?: string; primary: boolean }[];
  meta: ScimMetaJson;
}

/** RFC 7643 §5 / RFC 7644 §4: the `/ServiceProviderConfig` document. */
export function serviceProviderConfig(baseUrl: string, opts: ServiceProviderConfigOptions): ScimServiceProviderConfigJson {
  const out: ScimServiceProviderConfigJson = {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    patch: { supported: true },
    // RFC 7643 §5: bulk.maxOperations and maxPayloadSize are REQUIRED even when bulk is unsupported.
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: opts.maxResults ?? 1000 },
    changePassword: { supported: opts.changePassword },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'Authentication with an OAuth 2.0 Bearer Token (RFC 6750).',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${trimBase(baseUrl)}/ServiceProviderConfig` },
  };
  if (opts.documentationUri !== undefined) out.documentationUri = opts.documentationUri;
  return out;
}
