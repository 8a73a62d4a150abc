// Job documents, validated once at the edge against jobs-documents/schema.json (JSON Schema
// 2020-12) and turned into a typed value. An invalid document is REJECTED with the schema path
// that failed, so the person who wrote it sees what to fix.

import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import schema from '../../jobs-documents/schema.json' with { type: 'json' };
import { CodedError } from '../../common/errors.ts';
import type { HealthSpec } from '../../bundle/manifest-types.ts';

/** AWS IoT's limit on a job document. */
export const MAX_DOCUMENT_BYTES = 32 * 1024;

export interface BundleRef {
  url: string;
  sha256: string;
  size: number;
}

export type JobDocument =
  | {
      operation: 'install';
      version: string;
      bundle: BundleRef;
      app?: string;
      compatible: string[];
      allowDowngrade: boolean;
      health?: HealthSpec;
    }
  | { operation: 'rollback' }
  | { operation: 'restart-app' }
  | { operation: 'reboot' }
  | { operation: 'report' };

export type Operation = JobDocument['operation'];

const ajv = new Ajv2020({ allErrors: false, strict: true, strictRequired: false });
const validate = ajv.compile(schema);

/** Parse a delivered job document (an object over MQTT, a string over HTTP); throws DOCUMENT_INVALID. */
export function parseJobDocument(raw: unknown): JobDocument {
  const value: unknown = typeof raw === 'string' ? parseJson(raw) : raw;
  const size = Buffer.byteLength(JSON.stringify(value ?? null));
  if (size > MAX_DOCUMENT_BYTES) {
    throw new CodedError('DOCUMENT_INVALID', `document is ${size} bytes, over the ${MAX_DOCUMENT_BYTES} byte limit`, { schemaPath: '' });
  }
  if (!validate(value)) throw invalid(validate.errors?.[0]);
  return toTyped(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CodedError('DOCUMENT_INVALID', `document is not JSON: ${(err as Error).message}`, { schemaPath: '' });
  }
}

function invalid(error: ErrorObject | undefined): CodedError {
  if (error === undefined) return new CodedError('DOCUMENT_INVALID', 'document does not match the schema', { schemaPath: '' });
  const where = error.instancePath === '' ? '(document)' : error.instancePath;
  const extra = error.keyword === 'additionalProperties' ? ` '${String(error.params['additionalProperty'])}'` : '';
  const message = `${where} ${error.message ?? 'is invalid'}${extra} (schema ${error.schemaPath})`;
  return new CodedError('DOCUMENT_INVALID', message, { schemaPath: error.schemaPath, instancePath: error.instancePath });
}

function toTyped(doc: Record<string, unknown>): JobDocument {
  const operation = doc['operation'] as Operation;
  if (operation !== 'install') return { operation };
  const health = doc['health'] as HealthSpec | undefined;
  const app = doc['app'] as string | undefined;
  return {
    operation,
    version: doc['version'] as string,
    bundle: doc['bundle'] as BundleRef,
    compatible: (doc['compatible'] as string[] | undefined) ?? [],
    allowDowngrade: doc['allowDowngrade'] === true,
    ...(app === undefined ? {} : { app }),
    ...(health === undefined ? {} : { health }),
  };
}
