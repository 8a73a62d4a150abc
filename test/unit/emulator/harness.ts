// A jobs engine driven in memory for conformance tests: the pure functions, a time that the
// test sets, and the messages each step published.

import { createJob, type CreateJobInput } from '../../../emulator/jobs/control.ts';
import { handleDeviceMessage } from '../../../emulator/jobs/device.ts';
import { tick } from '../../../emulator/jobs/lifecycle.ts';
import { changedThings, eventsFor } from '../../../emulator/jobs/events.ts';
import { DEFAULT_SETTINGS, emptyState, type EngineContext, type EngineSettings, type JobsState, type OutMessage, type Outcome } from '../../../emulator/jobs/model.ts';

export const T0 = Date.UTC(2024, 6, 2, 12, 0, 0);

export class Engine {
  state: JobsState = emptyState();
  now = T0;
  settings: EngineSettings;
  constructor(settings: Partial<EngineSettings> = {}) { this.settings = { ...DEFAULT_SETTINGS, ...settings }; }
  ctx(): EngineContext {
    return { now: this.now, settings: this.settings, renderDocument: (job) => JSON.parse(job.document) as unknown };
  }
  apply<T>(op: (s: JobsState, ctx: EngineContext) => Outcome<T>): { result: T; messages: OutMessage[] } {
    const out = op(this.state, this.ctx());
    this.state = out.state;
    return { result: out.result, messages: out.messages };
  }
  create(jobId: string, targets: string[], extra: Partial<CreateJobInput> = {}): OutMessage[] {
    return this.apply((s, c) => createJob(s, { jobId, targets, document: '{"op":"x"}', ...extra }, c)).messages;
  }
  /** A device publishes `body` on `$aws/things/<thing>/jobs/<suffix>`. */
  send(thing: string, suffix: string, body: unknown = {}): OutMessage[] {
    const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
    return this.apply((s, c) => handleDeviceMessage(s, `$aws/things/${thing}/jobs/${suffix}`, bytes, c)).messages;
  }
  /** The one reply of a request, asserting where it went. */
  reply(thing: string, suffix: string, body: unknown = {}): { outcome: 'accepted' | 'rejected'; payload: Record<string, unknown>; events: OutMessage[] } {
    const [first, ...events] = this.send(thing, suffix, body);
    if (!first) throw new Error('no reply');
    const outcome = first.topic.endsWith('/accepted') ? 'accepted' : 'rejected';
    if (first.topic !== `$aws/things/${thing}/jobs/${suffix}/${outcome}`) throw new Error(`reply on ${first.topic}`);
    return { outcome, payload: first.payload, events };
  }
  advance(ms: number): OutMessage[] {
    this.now += ms;
    const before = this.state;
    this.state = tick(before, this.now);
    return eventsFor(before, this.state, changedThings(before, this.state), this.ctx());
  }
}

/** Topic suffixes (after `jobs/`) of messages. */
export const kinds = (messages: OutMessage[]): string[] => messages.map((m) => m.topic.replace(/^\$aws\/things\/[^/]+\/jobs\//, ''));
