// The effective health settings of an app: the device's config, overridden per field by the
// bundle's manifest, then by the activation's own settings, with every timing filled in.

import type { HealthSpec, ProbeTiming } from '../../bundle/manifest-types.ts';

/**
 * Defaults, used when neither the device nor the bundle sets a field:
 * - startTimeoutSeconds 60: the app has a minute to become healthy, or the start has failed.
 * - probationSeconds 30: it must then stay healthy half a minute before a trial commits.
 * - HTTP and command probes every 2000 ms, 1000 ms timeout, unhealthy after 3 failures in a row.
 * - notify: no heartbeat requirement unless watchdogSec is set (READY=1 is still required).
 */
export const HEALTH_DEFAULTS = {
  startTimeoutSeconds: 60,
  probationSeconds: 30,
  probe: { intervalMs: 2_000, timeoutMs: 1_000, failureThreshold: 3 },
} as const;

export type EffectiveTiming = Required<ProbeTiming>;

export interface EffectiveHealthSpec extends HealthSpec {
  startTimeoutSeconds: number;
  probationSeconds: number;
  http?: EffectiveTiming & { url: string };
  command?: EffectiveTiming & { argv: string[] };
  notify?: { watchdogSec?: number };
}

/**
 * The effective settings: device < bundle manifest < activation (the job's own `health`), each
 * layer winning field by field, timings filled in from HEALTH_DEFAULTS.
 */
export function mergeHealthSpec(device: HealthSpec, bundle: HealthSpec | undefined, activation?: HealthSpec): EffectiveHealthSpec {
  return fill(device, overlay(bundle ?? {}, activation ?? {}));
}

/** `over` on top of `base`, field by field (probe timings too). */
function overlay(base: HealthSpec, over: HealthSpec): HealthSpec {
  const out: HealthSpec = { ...base, ...over };
  if (base.http && over.http) out.http = { ...base.http, ...over.http };
  if (base.command && over.command) out.command = { ...base.command, ...over.command };
  if (base.notify && over.notify) out.notify = { ...base.notify, ...over.notify };
  return out;
}

function fill(device: HealthSpec, over: HealthSpec): EffectiveHealthSpec {
  const merged: EffectiveHealthSpec = {
    startTimeoutSeconds: over.startTimeoutSeconds ?? device.startTimeoutSeconds ?? HEALTH_DEFAULTS.startTimeoutSeconds,
    probationSeconds: over.probationSeconds ?? device.probationSeconds ?? HEALTH_DEFAULTS.probationSeconds,
  };
  const http = over.http ?? device.http;
  if (http !== undefined) merged.http = { ...withTiming(device.http, over.http), url: http.url };
  const command = over.command ?? device.command;
  if (command !== undefined) merged.command = { ...withTiming(device.command, over.command), argv: command.argv };
  const notify = device.notify === undefined && over.notify === undefined ? undefined : { ...device.notify, ...over.notify };
  if (notify !== undefined) merged.notify = notify;
  return merged;
}

function withTiming(device: ProbeTiming | undefined, bundle: ProbeTiming | undefined): EffectiveTiming {
  const pick = <K extends keyof ProbeTiming>(key: K): number => bundle?.[key] ?? device?.[key] ?? HEALTH_DEFAULTS.probe[key];
  return { intervalMs: pick('intervalMs'), timeoutMs: pick('timeoutMs'), failureThreshold: pick('failureThreshold') };
}
