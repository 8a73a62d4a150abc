// The control plane bound to a running jobs service: what tests, `twinslot demo` and the
// control API call. Each method mirrors one AWS IoT operation.

import type { JobsService } from './service.ts';
import { associateTargets, cancelJob, cancelJobExecution, createJob, deleteJob, removeTargets, type CancelExecutionInput, type CreateJobInput } from './jobs/control.ts';
import { describeJob, describeJobExecution, getJobDocument, listJobExecutions, listJobs } from './jobs/views.ts';

export interface JobsControl {
  createJob(input: CreateJobInput): { jobArn: string; jobId: string; description?: string };
  describeJob(jobId: string): { job: Record<string, unknown> };
  getJobDocument(jobId: string): { document: string };
  listJobs(status?: string): { jobs: Record<string, unknown>[] };
  listJobExecutions(jobId: string, status?: string): { executionSummaries: Record<string, unknown>[] };
  describeJobExecution(input: { jobId: string; thingName: string; executionNumber?: number }): { execution: Record<string, unknown> };
  cancelJob(input: { jobId: string; force?: boolean; comment?: string; reasonCode?: string }): { jobArn: string; jobId: string; description?: string };
  cancelJobExecution(input: CancelExecutionInput): void;
  deleteJob(input: { jobId: string; force?: boolean }): void;
  associateTargets(input: { jobId: string; targets: string[] }): { jobArn: string; jobId: string };
  removeTargets(input: { jobId: string; targets: string[] }): void;
}

/** Control methods over `service`. */
export function jobsControl(service: JobsService): JobsControl {
  return {
    createJob: (input) => service.control((s, ctx) => createJob(s, input, ctx)),
    describeJob: (jobId) => service.read((s, ctx) => describeJob(s, jobId, ctx.settings)),
    getJobDocument: (jobId) => service.read((s) => getJobDocument(s, jobId)),
    listJobs: (status) => service.read((s, ctx) => listJobs(s, ctx.settings, status)),
    listJobExecutions: (jobId, status) => service.read((s, ctx) => listJobExecutions(s, jobId, ctx.settings, status)),
    describeJobExecution: (input) => service.read((s, ctx) => describeJobExecution(s, input, ctx.settings, ctx.now)),
    cancelJob: (input) => service.control((s, ctx) => cancelJob(s, input, ctx)),
    cancelJobExecution: (input) => service.control((s, ctx) => cancelJobExecution(s, input, ctx)),
    deleteJob: (input) => service.control((s, ctx) => deleteJob(s, input, ctx)),
    associateTargets: (input) => service.control((s, ctx) => associateTargets(s, input, ctx)),
    removeTargets: (input) => service.control((s, ctx) => removeTargets(s, input, ctx)),
  };
}
