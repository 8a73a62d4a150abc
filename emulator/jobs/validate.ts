// Validation of what devices send, with the limits AWS documents for UpdateJobExecution and
// StartNextPendingJobExecution [S7, S8]: statusDetails keys [a-zA-Z0-9:_-]{1,128}, values 1–1024
// characters without control characters; stepTimeoutInMinutes 1–10080 or -1.

import type { StatusDetails } from './model.ts';

export class RequestError extends Error {
  readonly code: 'InvalidJson' | 'InvalidRequest';
  constructor(code: 'InvalidJson' | 'InvalidRequest', message: string) {
    super(message);
    this.code = code;
  }
}

const KEY = /^[a-zA-Z0-9:_-]{1,128}$/;
const CONTROL = /\p{C}/u;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A request body as an object: empty payloads are `{}`; not UTF-8 JSON is InvalidJson. */
export function parseBody(payload: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = decoder.decode(payload);
  } catch {
    throw new RequestError('InvalidJson', 'Payload is not valid UTF-8');
  }
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RequestError('InvalidJson', 'Payload is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestError('InvalidRequest', 'Payload must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** The clientToken to echo: only a string is echoed. */
export function clientTokenOf(body: Record<string, unknown>): string | undefined {
  const token = body['clientToken'];
  return typeof token === 'string' ? token : undefined;
}

/** Checks the clientToken's type and length (1–64). */
export function checkClientToken(body: Record<string, unknown>): void {
  const token = body['clientToken'];
  if (token === undefined) return;
  if (typeof token !== 'string' || token.length < 1 || token.length > 64) {
    throw new RequestError('InvalidRequest', 'clientToken must be a string of 1 to 64 characters');
  }
}

/** statusDetails, validated; undefined when absent. */
export function statusDetailsOf(body: Record<string, unknown>): StatusDetails | undefined {
  const raw = body['statusDetails'];
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new RequestError('InvalidRequest', 'statusDetails must be an object of strings');
  const out: StatusDetails = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!KEY.test(key)) throw new RequestError('InvalidRequest', `statusDetails key "${key.slice(0, 140)}" must match [a-zA-Z0-9:_-]{1,128}`);
    if (typeof value !== 'string') throw new RequestError('InvalidRequest', `statusDetails.${key} must be a string`);
    if (value.length < 1 || value.length > 1024) {
      throw new RequestError('InvalidRequest', `Value at 'statusDetails.${key}' failed to satisfy constraint: Member must have length between 1 and 1024`);
    }
    if (CONTROL.test(value)) throw new RequestError('InvalidRequest', `Value at 'statusDetails.${key}' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\p{C}]+`);
    out[key] = value;
  }
  return out;
}

/** stepTimeoutInMinutes: undefined when absent, -1 to clear, else 1–10080. */
export function stepTimeoutOf(body: Record<string, unknown>): number | undefined {
  const raw = body['stepTimeoutInMinutes'];
  if (raw === undefined || raw === null) return undefined;
  const value = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || (value !== -1 && (value < 1 || value > 10080))) {
    throw new RequestError('InvalidRequest', 'stepTimeoutInMinutes must be -1 or an integer from 1 to 10080');
  }
  return value;
}

/** A non-negative integer field that AWS also accepts as a numeric string (expectedVersion). */
export function integerOf(body: Record<string, unknown>, field: string): number | undefined {
  const raw = body[field];
  if (raw === undefined || raw === null) return undefined;
  const value = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RequestError('InvalidRequest', `${field} must be a non-negative integer`);
  }
  return value;
}

/** A boolean flag with its default. */
export function flagOf(body: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const raw = body[field];
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== 'boolean') throw new RequestError('InvalidRequest', `${field} must be a boolean`);
  return raw;
}

export type DeviceStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'REJECTED';
const DEVICE_STATUSES: ReadonlySet<string> = new Set(['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED']);

/** The status an update sets; required, and only the four a device may set. */
export function updateStatusOf(body: Record<string, unknown>): DeviceStatus {
  const raw = body['status'];
  if (raw === undefined || raw === null) {
    throw new RequestError('InvalidRequest', "1 validation error detected: Value null at 'status' failed to satisfy constraint: Member must not be null");
  }
  if (typeof raw !== 'string' || !DEVICE_STATUSES.has(raw)) {
    throw new RequestError('InvalidRequest', `Value '${JSON.stringify(raw).slice(0, 40)}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [IN_PROGRESS, SUCCEEDED, FAILED, REJECTED]`);
  }
  return raw as DeviceStatus;
}
