// notify and notify-next, derived by comparing a thing's pending list before and after a
// change. AWS sends JobExecutionsChanged only when the set of pending executions changes (not
// on QUEUED → IN_PROGRESS) and NextJobExecutionChanged only when the head changes [S1, S4].

import type { EngineContext, JobsState, OutMessage } from './model.ts';
import { executionKey, pendingFor } from './queries.ts';
import { notifyNextPayload, notifyPayload, notifyNextTopic, notifyTopic } from './topics.ts';

function membership(state: JobsState, thing: string): string {
  return pendingFor(state, thing).map(executionKey).sort().join('\n');
}

function headKey(state: JobsState, thing: string): string {
  const head = pendingFor(state, thing)[0];
  return head ? executionKey(head) : '';
}

/** The events that `before → after` causes for `things`, in AWS's order: notify, then notify-next. */
export function eventsFor(before: JobsState, after: JobsState, things: Iterable<string>, ctx: EngineContext): OutMessage[] {
  const messages: OutMessage[] = [];
  for (const thing of new Set(things)) {
    const pending = pendingFor(after, thing);
    if (membership(before, thing) !== membership(after, thing)) {
      messages.push({ topic: notifyTopic(thing), payload: notifyPayload(pending, ctx.now) });
    }
    if (headKey(before, thing) !== headKey(after, thing)) {
      const head = pending[0];
      const job = head ? after.jobs[head.jobId] : undefined;
      const document = job ? ctx.renderDocument(job, ctx.now) : undefined;
      messages.push({ topic: notifyNextTopic(thing), payload: notifyNextPayload(head, document, ctx.now) });
    }
  }
  return messages;
}

/** Things whose executions differ between two states. */
export function changedThings(before: JobsState, after: JobsState): string[] {
  const things = new Set<string>();
  const old = new Map(before.executions.map((e) => [`${e.thingName}/${executionKey(e)}`, e]));
  for (const e of after.executions) {
    const key = `${e.thingName}/${executionKey(e)}`;
    if (old.get(key) !== e) things.add(e.thingName);
    old.delete(key);
  }
  for (const e of old.values()) things.add(e.thingName);
  // A deleted job hides its executions even though the records stay identical.
  for (const jobId of Object.keys(before.jobs)) {
    if (after.jobs[jobId]) continue;
    for (const e of before.executions) if (e.jobId === jobId) things.add(e.thingName);
  }
  return [...things];
}
