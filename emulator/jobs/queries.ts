// Read-only views of the jobs state: a thing's pending list, its head, one execution.

import { isTerminal, type Execution, type JobsState } from './model.ts';

function byQueueOrder(a: Execution, b: Execution): number {
  return a.queuedAt - b.queuedAt || a.seq - b.seq;
}

/** A thing's pending executions: IN_PROGRESS first, then QUEUED, each in queue order. */
export function pendingFor(state: JobsState, thing: string): Execution[] {
  const mine = state.executions.filter((e) => e.thingName === thing && !isTerminal(e.status) && state.jobs[e.jobId]);
  const inProgress = mine.filter((e) => e.status === 'IN_PROGRESS').sort(byQueueOrder);
  const queued = mine.filter((e) => e.status === 'QUEUED').sort(byQueueOrder);
  return [...inProgress, ...queued];
}

/** The execution start-next and `$next` would pick. */
export function headFor(state: JobsState, thing: string): Execution | undefined {
  return pendingFor(state, thing)[0];
}

/** One execution of a job on a thing: the given number, or the latest. */
export function findExecution(state: JobsState, thing: string, jobId: string, executionNumber?: number): Execution | undefined {
  if (!state.jobs[jobId]) return undefined;
  let found: Execution | undefined;
  for (const e of state.executions) {
    if (e.thingName !== thing || e.jobId !== jobId) continue;
    if (executionNumber !== undefined) {
      if (e.executionNumber === executionNumber) return e;
    } else if (!found || e.executionNumber > found.executionNumber) {
      found = e;
    }
  }
  return found;
}

/** The latest execution of a job on every thing that has one. */
export function latestExecutionsOf(state: JobsState, jobId: string): Execution[] {
  const latest = new Map<string, Execution>();
  for (const e of state.executions) {
    if (e.jobId !== jobId) continue;
    const seen = latest.get(e.thingName);
    if (!seen || e.executionNumber > seen.executionNumber) latest.set(e.thingName, e);
  }
  return [...latest.values()];
}

/** A stable key of an execution. */
export const executionKey = (e: Pick<Execution, 'jobId' | 'executionNumber'>): string => `${e.jobId}#${e.executionNumber}`;

/** The state with one execution replaced (matched by thing, job and number). */
export function replaceExecution(state: JobsState, next: Execution): JobsState {
  const executions = state.executions.map((e) =>
    e.thingName === next.thingName && e.jobId === next.jobId && e.executionNumber === next.executionNumber ? next : e);
  return { ...state, executions };
}
