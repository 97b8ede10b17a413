/** SCIM 2.0 toolkit (RFC 7643 / RFC 7644): pure functions, no HTTP, no storage. */
export { ScimError, scimErrorBody, isScimError, SCIM_ERROR_SCHEMA, SCIM_TYPES, type ScimType, type ScimErrorBody } from './errors.js';
export * from './schema.js';
export {
  parseFilter, compileFilter, stringifyFilter, DEFAULT_MAX_FILTER_DEPTH, DEFAULT_MAX_FILTER_LENGTH,
  type Filter, type CompareFilter, type PresentFilter, type LogicalFilter, type NotFilter, type ValuePathFilter, type CompareOp, type CompValue,
  type ParseFilterOptions, type CompileFilterOptions, type ResourcePredicate,
} from './filter.js';
export * from './query.js';
export { projectResource } from './project.js';
export { applyPatch, PATCH_OP_SCHEMA, DEFAULT_MAX_PATCH_OPERATIONS, type ApplyPatchOptions } from './patch.js';
export { validateResource, type ValidateMode, type ValidateOptions } from './validate.js';
export * from './resources.js';
