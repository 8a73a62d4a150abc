// Retry delays. Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter") for
// everything that talks to the network, so a fleet that lost its broker does not come back in step.

export interface BackoffPolicy {
  /** First delay ceiling in ms. */
  baseMs: number;
  /** Largest delay in ms. */
  maxMs: number;
  /** Growth factor per attempt (2 for network retries). */
  factor?: number;
}

/** Delay ceiling for a 0-based attempt, without jitter. */
export function backoffCeiling(policy: BackoffPolicy, attempt: number): number {
  const factor = policy.factor ?? 2;
  const ceiling = policy.baseMs * Math.pow(factor, Math.max(0, attempt));
  return Math.min(policy.maxMs, ceiling);
}

/** Full jitter: uniform in [0, ceiling]. `random` is injectable for tests. */
export function fullJitter(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(policy, attempt));
}
