// Strict reading of one JSON object: every key must be known, every value of the right type
// and range. Errors carry the caller's code (CONFIG_INVALID, HEALTH_SPEC_INVALID, BAD_REQUEST)
// and the JSON path of the field (`supervisor.watchdog.timeoutSeconds: must be ...`).

import { CodedError } from './errors.ts';

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const shown = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v) ?? typeof v);

/** The fields of one object at `path`; refuses keys not in `known`. */
export class Fields {
  readonly o: Obj;
  readonly path: string;
  readonly code: string;

  /** `value` undefined reads as an empty object (a section that is absent takes its defaults). */
  constructor(value: unknown, path: string, code: string, known: readonly string[]) {
    this.path = path;
    this.code = code;
    if (value === undefined) value = {};
    if (!isObj(value)) throw new CodedError(code, `${path || '(root)'}: must be an object, got ${shown(value)}`, { path });
    this.o = value;
    const unknown = Object.keys(value).find((k) => !known.includes(k));
    if (unknown !== undefined) this.fail(unknown, 'unknown key');
  }

  /** Throws this reader's code for `key`. */
  fail(key: string, what: string): never {
    const at = this.at(key);
    throw new CodedError(this.code, `${at}: ${what}`, { path: at });
  }

  at(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return this.o[key] !== undefined;
  }

  /** A nested object's fields (absent → empty). */
  sub(key: string, known: readonly string[]): Fields {
    return new Fields(this.o[key], this.at(key), this.code, known);
  }

  /** A finite number in [min, max]; integers only when `integer`. */
  num(key: string, dflt: number, min: number, max: number, integer = true): number {
    const v = this.o[key];
    if (v === undefined) return dflt;
    const kind = integer ? 'an integer' : 'a number';
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      this.fail(key, `must be ${kind} in [${min}, ${max}], got ${shown(v)}`);
    }
    return v;
  }

  /** A number that may be absent (no default). */
  optNum(key: string, min: number, max: number, integer = true): number | undefined {
    return this.has(key) ? this.num(key, 0, min, max, integer) : undefined;
  }

  /** A non-empty string matching `pattern` when given; null when absent or null. */
  str(key: string, pattern?: RegExp, what = 'a non-empty string'): string | null {
    const v = this.o[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v === '' || (pattern !== undefined && !pattern.test(v))) this.fail(key, `must be ${what}, got ${shown(v)}`);
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.o[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${shown(v)}`);
    return v;
  }

  /** A non-empty array of non-empty strings (a command line). */
  argv(key: string, dflt: string[] | null): string[] | null {
    const v = this.o[key];
    if (v === undefined) return dflt;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x !== '')) {
      this.fail(key, `must be a non-empty array of non-empty strings (an argv), got ${shown(v)}`);
    }
    return v as string[];
  }

  /** A non-empty list of distinct names matching `pattern`; `dflt` when absent. */
  names(key: string, pattern: RegExp, dflt: string[]): string[] {
    const v = this.o[key];
    if (v === undefined) return dflt;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && pattern.test(x)) || new Set(v).size !== v.length) {
      this.fail(key, `must be a non-empty list of distinct names, got ${shown(v)}`);
    }
    return v as string[];
  }

  /** A list of distinct TCP ports (1..65535); [] when absent. */
  ports(key: string): number[] {
    const v = this.o[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 1 && x <= 65535) || new Set(v).size !== v.length) {
      this.fail(key, `must be a list of distinct ports in [1, 65535], got ${shown(v)}`);
    }
    return v as number[];
  }

  /** One of `choices`. */
  oneOf<T extends string>(key: string, choices: readonly T[], dflt: T): T {
    const v = this.o[key];
    if (v === undefined) return dflt;
    if (!choices.includes(v as T)) this.fail(key, `must be one of ${choices.join(', ')}, got ${shown(v)}`);
    return v as T;
  }
}
