// Everything the job steps need, built by the composition root and handed to each step.

import { join } from 'node:path';
import type { Clock } from '../../common/clock.ts';
import type { DeviceEvents } from '../device-events.ts';
import type { Logger } from '../../common/log.ts';
import type { TrustStore } from '../../bundle/trust.ts';
import type { DevicePaths } from '../../slots/paths.ts';
import type { JobsConfig, UpdateConfig } from '../jobs/config.ts';
import type { JobsApi } from '../jobs/jobs-api.ts';
import type { ExecutionKey } from '../jobs/journal.ts';
import type { SupervisorPort } from './supervisor-port.ts';

export interface StepContext {
  paths: DevicePaths;
  deviceType: string;
  jobsConfig: JobsConfig;
  update: UpdateConfig;
  ca: Buffer | undefined;
  supervisor: SupervisorPort;
  jobs: JobsApi;
  loadTrust(): Promise<TrustStore>;
  /** The current boot id (paths.bootId). */
  bootId(): Promise<string>;
  /** Durable device events (trial outcomes); absent in tests that do not look at them. */
  events?: Pick<DeviceEvents, 'trialOutcome'>;
  clock: Clock;
  log: Logger;
  /** Progress of the current step, sent as an IN_PROGRESS update (throttled by the runner). */
  progress(details: Record<string, string>): void;
}

/** Where an execution's bundle is downloaded. */
export function downloadPath(paths: DevicePaths, key: ExecutionKey): string {
  return join(paths.agentDir, 'downloads', `${key.jobId}.${key.executionNumber}.bundle`);
}
