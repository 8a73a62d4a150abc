// The agent's first step when the config says `provisioning: {mode: "claim"}`: obtain the
// permanent certificate before the link connects with it. Network trouble is retried with the
// connection's backoff; a refusal by the service with the slower auth backoff; a template that
// names another thing is a configuration error and ends the agent (systemd restarts it slowly).

import type { Clock } from '../../common/clock.ts';
import { fullJitter } from '../../common/backoff.ts';
import { CodedError, messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { AgentConfig } from '../config.ts';
import { provisionByClaim, type ClaimResult, type ClaimTarget } from './claim.ts';
import { parseProvisioningConfig, type ClaimConfig } from './config.ts';

export interface EnsureDeps {
  log: Logger;
  clock: Clock;
  /** Replaced in tests; the real one talks to AWS IoT fleet provisioning. */
  provision?: (claim: ClaimConfig, target: ClaimTarget) => Promise<ClaimResult>;
}

const CLAIM_TIMEOUT_MS = 60_000;

/** Resolves once the configured certificate exists (provisioning it by claim when asked to). */
export async function ensureProvisioned(raw: unknown, config: AgentConfig, deps: EnsureDeps): Promise<ClaimResult | null> {
  const claim = parseProvisioningConfig(raw);
  if (claim === null) return null;
  const c = config.connection;
  const endpoint = c.endpoints[0];
  if (endpoint === undefined) throw new CodedError('CONFIG_INVALID', 'agent.connection.endpoints is empty');
  const target: ClaimTarget = {
    endpoint, clientId: c.clientId, certPath: c.certPath, keyPath: c.keyPath, timeoutMs: Math.max(CLAIM_TIMEOUT_MS, c.connackTimeoutMs),
    expectThingName: c.thingName, ...(c.caPath === undefined ? {} : { caPath: c.caPath }),
  };
  const provision = deps.provision ?? ((cc: ClaimConfig, ct: ClaimTarget): Promise<ClaimResult> => provisionByClaim(cc, ct));
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await provision(claim, target);
      if (result.kind === 'provisioned') {
        deps.log.info({ event: 'provisioned', thingName: result.thingName, certificateId: result.certificateId }, 'permanent certificate stored');
      }
      return result;
    } catch (err) {
      const code = err instanceof CodedError ? String(err.code) : 'PROVISIONING_FAILED';
      if (code === 'PROVISIONING_THING_MISMATCH') throw err;
      const policy = code === 'PROVISIONING_REJECTED' ? c.authBackoff : c.backoff;
      const delay = fullJitter(policy, attempt);
      deps.log.warn({ event: 'provisioning-failed', code, err: messageOf(err), attempt, retryInMs: delay }, 'fleet provisioning failed; retrying');
      await deps.clock.sleep(delay);
    }
  }
}
