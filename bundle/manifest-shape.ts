// The structural half of the manifest validator: types, ranges, patterns and no unknown
// properties, each refusal naming its JSON pointer (`/files/3/sha256`). Rules about meaning
// (semver, paths, the tree, symlink targets) live in manifest.ts. Hand-written rather than a
// JSON Schema library: it is small, and an install should not carry a schema compiler.

import { BundleError } from './errors.ts';

type Check = (value: unknown, at: string) => void;

/** A refusal of the manifest at JSON pointer `at`. */
export function invalid(at: string, reason: string): BundleError {
  return new BundleError('BUNDLE_MANIFEST_INVALID', `manifest.json ${at || '/'}: ${reason}`, { path: at });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function text(options: { min?: number; max: number; pattern?: RegExp; what?: string }): Check {
  return (value, at) => {
    if (typeof value !== 'string') throw invalid(at, 'must be a string');
    if (value.length < (options.min ?? 1)) throw invalid(at, 'must not be empty');
    if (value.length > options.max) throw invalid(at, `must be at most ${options.max} characters`);
    if (options.pattern && !options.pattern.test(value)) throw invalid(at, `must be ${options.what ?? `a string matching ${String(options.pattern)}`}`);
  };
}

function integer(min: number, max: number): Check {
  return (value, at) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(at, `must be an integer from ${min} to ${max}`);
  };
}

function number(min: number, max: number): Check {
  return (value, at) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw invalid(at, `must be a number from ${min} to ${max}`);
  };
}

function constant(expected: unknown): Check {
  return (value, at) => {
    if (value !== expected) throw invalid(at, `must be ${JSON.stringify(expected)}`);
  };
}

function array(item: Check, options: { min?: number; max?: number; unique?: boolean } = {}): Check {
  return (value, at) => {
    if (!Array.isArray(value)) throw invalid(at, 'must be an array');
    if (value.length < (options.min ?? 0)) throw invalid(at, `must have at least ${options.min ?? 0} item(s)`);
    if (options.max !== undefined && value.length > options.max) throw invalid(at, `must have at most ${options.max} items`);
    value.forEach((element, index) => item(element, `${at}/${index}`));
    if (options.unique && new Set(value).size !== value.length) throw invalid(at, 'must not repeat an item');
  };
}

/** An object with exactly these properties (`required` ones present), nothing else. */
function object(required: Record<string, Check>, optional: Record<string, Check> = {}): Check {
  return (value, at) => {
    if (!isObject(value)) throw invalid(at, 'must be an object');
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(required, key) && !Object.hasOwn(optional, key)) throw invalid(at, `unknown property "${key}"`);
    }
    for (const [key, check] of Object.entries(required)) {
      if (!Object.hasOwn(value, key)) throw invalid(at, `must have property "${key}"`);
      check(value[key], `${at}/${key}`);
    }
    for (const [key, check] of Object.entries(optional)) if (Object.hasOwn(value, key)) check(value[key], `${at}/${key}`);
  };
}

function dictionary(keys: RegExp, item: Check, max: number): Check {
  return (value, at) => {
    if (!isObject(value)) throw invalid(at, 'must be an object');
    const entries = Object.entries(value);
    if (entries.length > max) throw invalid(at, `must have at most ${max} properties`);
    for (const [key, element] of entries) {
      if (!keys.test(key)) throw invalid(`${at}/${key}`, `"${key}" is not a valid name`);
      item(element, `${at}/${key}`);
    }
  };
}

/** One of several object shapes, chosen by the value of its `type` property. */
function tagged(shapes: Record<string, Check>): Check {
  return (value, at) => {
    if (!isObject(value)) throw invalid(at, 'must be an object');
    const type = value.type;
    if (typeof type !== 'string' || !Object.hasOwn(shapes, type)) throw invalid(`${at}/type`, `must be one of ${Object.keys(shapes).map((k) => `"${k}"`).join(', ')}`);
    shapes[type]?.(value, at);
  };
}

const count = integer(0, 2 ** 31 - 1);
const seconds = number(0, 31_536_000);
const timing = { intervalMs: count, timeoutMs: count, failureThreshold: integer(1, 1000) };
const mode = integer(0, 0o777);
const path = text({ max: 4095 });
const argv = array(text({ max: 4096 }), { min: 1, max: 256 });

const health = object(
  {},
  {
    startTimeoutSeconds: seconds,
    probationSeconds: seconds,
    http: object({ url: text({ max: 2048, pattern: /^https?:\/\//, what: 'an http:// or https:// URL' }) }, timing),
    command: object({ argv }, timing),
    notify: object({}, { watchdogSec: seconds }),
  },
);

const entrypoint = object(
  { command: argv },
  {
    env: dictionary(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, text({ min: 0, max: 8192 }), 256),
    user: text({ max: 32, pattern: /^[a-z_][a-z0-9_.-]{0,31}$/, what: 'a user name' }),
    workingDir: path,
  },
);

const file = tagged({
  file: object({ type: constant('file'), path, size: integer(0, Number.MAX_SAFE_INTEGER), mode, sha256: text({ max: 64, pattern: /^[0-9a-f]{64}$/, what: '64 lowercase hex digits' }) }),
  dir: object({ type: constant('dir'), path, mode }),
  symlink: object({ type: constant('symlink'), path, target: text({ max: 4095 }) }),
});

/** Checks the shape of a parsed manifest.json (format 1). */
export const checkManifestShape: Check = object(
  {
    format: constant(1),
    name: text({ max: 128, pattern: /^[A-Za-z0-9][A-Za-z0-9._+-]*$/, what: 'a name of letters, digits and . _ + -' }),
    version: text({ max: 256 }),
    compatible: array(text({ max: 128, pattern: /^[A-Za-z0-9][A-Za-z0-9._:/+-]*$/, what: 'a device type of letters, digits and . _ : / + -' }), { max: 1024, unique: true }),
    entrypoint,
    createdAt: text({ max: 64, pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/, what: 'an ISO 8601 time with a zone' }),
    files: array(file),
  },
  { health, keyId: text({ max: 71, pattern: /^sha256:[0-9a-f]{64}$/, what: '"sha256:" and 64 hex digits' }) },
);
