// The steps of an `install` job: pre-checks, download, install into the slot the supervisor
// prepared, activation and its reconciliation after a restart. Each returns the machine event
// its outcome means; failures with a stable code become a FAILED report.

import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { installBundle } from '../../bundle/install.ts';
import { fullJitter } from '../../common/backoff.ts';
import { CodedError, isErrno } from '../../common/errors.ts';
import type { SlotName } from '../../slots/paths.ts';
import type { JobDocument } from '../jobs/document.ts';
import { parseJobDocument } from '../jobs/document.ts';
import { JobsUnavailable, type RemoteExecution } from '../jobs/jobs-api.ts';
import type { JournalEntry } from '../jobs/journal.ts';
import type { FinalReport, StepEvent } from '../jobs/phases.ts';
import { downloadPath, type StepContext } from './context.ts';
import { download } from './download.ts';
import { checkSpace, checkVersion } from './prechecks.ts';
import { committedVersion, type StatusReport } from './supervisor-port.ts';

type Install = Extract<JobDocument, { operation: 'install' }>;

/** A FAILED (or other final) report as a machine event. */
export function finish(status: FinalReport['status'], reason: string, message: string, details: Record<string, string> = {}): StepEvent {
  return { type: 'finished', final: { status, reason, message, details } };
}

/** The install document of an entry (the runner only calls install steps for install jobs). */
export function installDoc(entry: JournalEntry): Install {
  if (entry.document?.operation !== 'install') throw new CodedError('JOB_STATE_INVALID', 'not an install job');
  return entry.document;
}

/** Device type, version rules, free space. */
export async function precheck(entry: JournalEntry, ctx: StepContext): Promise<StepEvent> {
  const doc = installDoc(entry);
  const status = await ctx.supervisor.status();
  if (activationOf(entry, status)) return { type: 'activation-found' };
  const verdict = checkVersion(doc, { deviceType: ctx.deviceType, runningVersion: committedVersion(status) });
  if (verdict.kind === 'done') return finish('SUCCEEDED', verdict.reason, verdict.message, { version: doc.version });
  if (verdict.kind === 'refused') return finish('FAILED', verdict.reason, verdict.message, { version: doc.version });
  const file = downloadPath(ctx.paths, entry);
  await mkdir(dirname(file), { recursive: true });
  await mkdir(ctx.paths.slotsDir, { recursive: true });
  const space = await checkSpace(doc.bundle.size, await sizeOf(file), dirname(file), ctx.paths.slotsDir, ctx.update.reserveBytes);
  if (space.kind !== 'proceed') return finish('FAILED', space.reason, space.message, { version: doc.version });
  return { type: 'start', operation: 'install' };
}

/** Resumable download; a refused URL is refreshed by describing the execution again. */
export async function downloadStep(entry: JournalEntry, ctx: StepContext, signal: AbortSignal): Promise<StepEvent> {
  const doc = installDoc(entry);
  const refreshUrl = async (): Promise<string> => {
    const fresh = await describeWhenReachable(entry, ctx, signal);
    if (fresh === null) throw new CodedError('URL_EXPIRED', 'the job execution is gone; no fresh URL');
    const again = parseJobDocument(fresh.document);
    if (again.operation !== 'install') throw new CodedError('URL_EXPIRED', 'the job document changed');
    ctx.log.info({ event: 'download-url-refreshed', jobId: entry.jobId }, 'presigned URL refreshed');
    return again.bundle.url;
  };
  const result = await download(
    {
      url: doc.bundle.url, sha256: doc.bundle.sha256, size: doc.bundle.size, partPath: downloadPath(ctx.paths, entry), signal, refreshUrl,
      onProgress: (bytes) => ctx.progress({ progress: String(Math.floor((bytes * 100) / doc.bundle.size)), bytes: String(bytes) }),
    },
    {
      ca: ctx.ca, allowHttp: ctx.update.allowHttp, connectTimeoutMs: ctx.update.connectTimeoutMs, idleTimeoutMs: ctx.update.idleTimeoutMs,
      retries: ctx.update.retries, backoff: ctx.update.backoff, clock: ctx.clock,
    },
  );
  ctx.log.info({ event: 'download-done', jobId: entry.jobId, fetched: result.bytesFetched, resumedFrom: result.resumedFrom, attempts: result.attempts }, 'bundle downloaded');
  return { type: 'downloaded' };
}

// A refresh can come before the agent is connected (a download resumed at start with an expired
// URL): "not connected" is asked again with the update backoff, not a reason to fail the job.
// The step timeout in the cloud bounds the wait.
async function describeWhenReachable(entry: JournalEntry, ctx: StepContext, signal: AbortSignal): Promise<RemoteExecution | null> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.jobs.describe(entry.jobId, entry.executionNumber);
    } catch (err) {
      if (!(err instanceof JobsUnavailable)) throw err;
      await ctx.clock.sleep(fullJitter(ctx.jobsConfig.updateBackoff, attempt), signal);
    }
  }
}

/** prepare-slot → verified streaming install → slot-ready. Redone from scratch after a crash. */
export async function installStep(entry: JournalEntry, ctx: StepContext, signal: AbortSignal): Promise<StepEvent> {
  const doc = installDoc(entry);
  const { slot, path } = await ctx.supervisor.prepareSlot();
  const result = await installBundle(createReadStream(downloadPath(ctx.paths, entry)), {
    targetDir: path, trust: await ctx.loadTrust(), signal, deviceType: ctx.deviceType,
  });
  if (result.manifest.version !== doc.version) {
    throw new CodedError('VERSION_MISMATCH', `bundle version ${result.manifest.version} differs from the document's ${doc.version}`);
  }
  if (doc.app !== undefined && result.manifest.name !== doc.app) {
    throw new CodedError('APP_MISMATCH', `bundle app ${result.manifest.name} differs from the document's ${doc.app}`);
  }
  await ctx.supervisor.slotReady(slot);
  return { type: 'installed', slot };
}

/** activate: from here on the supervisor owns the outcome. */
export async function activateStep(entry: JournalEntry, ctx: StepContext, slot: SlotName): Promise<StepEvent> {
  await ctx.supervisor.activate(slot, entry.jobId, false, installDoc(entry).health);
  return { type: 'activated' };
}

/** The supervisor already ran (or runs) this job's trial: the journal entry was lost after activation. */
export function activationOf(entry: JournalEntry, status: StatusReport): boolean {
  return status.trial?.jobId === entry.jobId || status.lastOutcome?.jobId === entry.jobId;
}

/** After a restart in `activating`: activate only if the supervisor has not already. */
export async function reconcileActivation(entry: JournalEntry, ctx: StepContext, slot: SlotName): Promise<StepEvent> {
  const status = await ctx.supervisor.status();
  if (activationOf(entry, status)) return { type: 'activated' };
  if (status.slots[slot].status === 'ready' && status.current !== slot) return activateStep(entry, ctx, slot);
  return finish('FAILED', 'ACTIVATION_LOST', `slot ${slot} is ${status.slots[slot].status} and no trial of this job exists`);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    throw err;
  }
}
