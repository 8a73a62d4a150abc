// Every topic the agent's link uses and the shapes of the payloads it owns, in one pure module
// so nothing builds a topic with an inline template string.

/** User property that carries an outbox message's id, for de-duplication downstream. */
export const MESSAGE_ID_PROPERTY = 'twinslot-id';

/** The device status topic: retained `online` on connect, retained `offline` as the last will. */
export function statusTopic(thingName: string): string {
  return `twinslot/${thingName}/status`;
}

export interface OnlineStatus {
  state: 'online';
  thingName: string;
  clientId: string;
  /** twinslot's version. */
  version: string;
  /** Epoch milliseconds of the connection. */
  at: number;
  rejoinedSession: boolean;
}

export interface OfflineStatus {
  state: 'offline';
  thingName: string;
  clientId: string;
  /** `will`: sent by the broker for a lost connection; `shutdown`: the agent stopped cleanly. */
  cause: 'will' | 'shutdown';
  at?: number;
}

/** Retained through the outbox when the supervisor relays a power-fail notice (agent/power-fail.ts). */
export interface PowerFailStatus {
  state: 'power-fail';
  thingName: string;
  clientId: string;
  at: number;
  /** The job the agent was working on, left to resume at the next start. */
  job: { jobId: string; executionNumber: number; phase: string } | null;
}

export type DeviceStatus = OnlineStatus | OfflineStatus | PowerFailStatus;

/** The device's own events (trial outcomes), sent through the durable outbox. */
export function eventsTopic(thingName: string): string {
  return `twinslot/${thingName}/events`;
}

/** Serialise a status payload. */
export function encodeStatus(status: DeviceStatus): string {
  return JSON.stringify(status);
}

/** Parse a status payload from the wire; undefined when it is not one. */
export function decodeStatus(payload: string): DeviceStatus | undefined {
  try {
    const v: unknown = JSON.parse(payload);
    if (typeof v !== 'object' || v === null) return undefined;
    const state = (v as { state?: unknown }).state;
    return state === 'online' || state === 'offline' || state === 'power-fail' ? (v as DeviceStatus) : undefined;
  } catch {
    return undefined;
  }
}

/** MQTT topic filter matching (`+` one level, `#` the rest); `$` topics never match a leading wildcard. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i += 1) {
    const part = f[i];
    if (part === '#') return true;
    if (i >= t.length) return false;
    if (part !== '+' && part !== t[i]) return false;
  }
  return f.length === t.length;
}

/** True when a topic is valid for PUBLISH (no wildcards, not empty, at most 65535 bytes). */
export function isPublishTopic(topic: string): boolean {
  return topic.length > 0 && !/[+#\0]/.test(topic) && Buffer.byteLength(topic) <= 65535;
}
