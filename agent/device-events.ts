// The device's own messages that must not be lost, sent through the durable outbox (they
// survive kill -9, a power cut and a link that is down now): one event per trial outcome on
// `twinslot/<thing>/events`, and the retained `power-fail` status on `twinslot/<thing>/status`.
// Job status updates do not go here: they have the Jobs API, its retries and the journal.
//
// Every payload carries `eventId`, stable for the fact it reports (the same trial outcome
// found again after an agent restart has the same id), next to the outbox's per-message
// `twinslot-id` user property: receivers de-duplicate on either.

import { encodeStatus, eventsTopic, statusTopic, type PowerFailStatus } from './connection/topics.ts';
import type { PublishOptions } from './outbox/outbox.ts';

/** What these messages need from the outbox. */
export interface OutboxPort {
  publish(topic: string, payload: string, options?: PublishOptions): string;
}

export interface TrialOutcomeEvent {
  type: 'trial-outcome';
  eventId: string;
  thingName: string;
  jobId: string;
  executionNumber: number;
  operation: 'install' | 'rollback';
  outcome: 'committed' | 'rolled-back';
  version: string;
  /** Only for `rolled-back`: the supervisor's code (HEALTH_*, TRIAL_*) and reason. */
  code?: string;
  reason?: string;
  at: number;
}

/** Publishes the device's durable messages for one thing. */
export class DeviceEvents {
  readonly #outbox: OutboxPort;
  readonly #thingName: string;
  readonly #clientId: string;

  constructor(outbox: OutboxPort, thingName: string, clientId: string) {
    this.#outbox = outbox;
    this.#thingName = thingName;
    this.#clientId = clientId;
  }

  /** A trial's verdict, once the agent learned it; returns the outbox message id. */
  trialOutcome(e: Omit<TrialOutcomeEvent, 'type' | 'eventId' | 'thingName'>): string {
    const event: TrialOutcomeEvent = { type: 'trial-outcome', eventId: `${e.jobId}.${e.executionNumber}.trial-outcome`, thingName: this.#thingName, ...e };
    return this.#outbox.publish(eventsTopic(this.#thingName), JSON.stringify(event));
  }

  /** The last status before the power goes: retained, so a later subscriber sees it too. */
  powerFail(at: number, job: PowerFailStatus['job']): string {
    const status: PowerFailStatus & { eventId: string } = {
      state: 'power-fail', thingName: this.#thingName, clientId: this.#clientId, at, job, eventId: `power-fail.${at}`,
    };
    return this.#outbox.publish(statusTopic(this.#thingName), encodeStatus(status), { retain: true });
  }
}
