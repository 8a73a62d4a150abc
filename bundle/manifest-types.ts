// The shape of a bundle's manifest.json. It is also the on-disk record of what a slot holds
// (slots/<x>/manifest.json), so the supervisor and the agent read it too.

/** Health settings. The device config gives defaults; a bundle may override any field. */
export interface HealthSpec {
  /** Seconds the app has to become healthy after start; exceeding it is a failure. */
  startTimeoutSeconds?: number;
  /** Seconds the app must stay healthy after first becoming healthy before a trial commits. */
  probationSeconds?: number;
  /** HTTP probe: healthy when GET `url` answers 2xx within `timeoutMs`. */
  http?: ProbeTiming & { url: string };
  /** Command probe: healthy when `argv` exits 0 within `timeoutMs` (run in the slot directory). */
  command?: ProbeTiming & { argv: string[] };
  /** sd_notify-style readiness: the app sends READY=1, then WATCHDOG=1 at least every `watchdogSec`. */
  notify?: { watchdogSec?: number };
}

export interface ProbeTiming {
  intervalMs?: number;
  timeoutMs?: number;
  /** Consecutive failures that make the app unhealthy. */
  failureThreshold?: number;
}

export interface Entrypoint {
  /** argv; argv[0] relative to the slot directory unless absolute. */
  command: string[];
  env?: Record<string, string>;
  /** User name to run as (needs root). */
  user?: string;
  /** Working directory relative to the slot (default: the slot directory). */
  workingDir?: string;
}

export type ManifestFile =
  | { type: 'file'; path: string; size: number; mode: number; sha256: string }
  | { type: 'dir'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string };

export interface Manifest {
  format: 1;
  name: string;
  /** semver */
  version: string;
  /** Device types this bundle runs on; empty means any. */
  compatible: string[];
  entrypoint: Entrypoint;
  health?: HealthSpec;
  /** ISO 8601 time the bundle was made. */
  createdAt: string;
  /**
   * Which key signed the manifest: `sha256:` + hex SHA-256 of the public key's DER
   * SubjectPublicKeyInfo. A hint that lets a refusal say "untrusted key" rather than "bad
   * signature"; the signature alone decides whether the bundle is accepted.
   */
  keyId?: string;
  files: ManifestFile[];
}
