// The control API's routes: JSON input checked at the edge, then one JobsControl call each.
// Route and field names are the AWS IoT API's (camelCase, as in the AWS CLI's --cli-input-json).

import { CodedError } from '../common/errors.ts';
import type { JobConfig, StatusDetails } from './jobs/model.ts';
import type { JobsControl } from './jobs-control.ts';
import type { Operation } from './control-api.ts';
import type { ThingCredentials } from './things.ts';

type Input = Record<string, unknown>;

function bad(message: string): CodedError {
  return new CodedError('InvalidRequestException', message);
}

function str(input: Input, field: string): string {
  const v = input[field];
  if (typeof v !== 'string' || v === '') throw bad(`${field} is required`);
  return v;
}

function optStr(input: Input, field: string): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`${field} must be a string`);
  return v;
}

function strings(input: Input, field: string): string[] {
  const v = input[field];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw bad(`${field} must be a list of strings`);
  return v;
}

function optNum(input: Input, field: string): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw bad(`${field} must be a number`);
  return v;
}

function detailsOf(input: Input): StatusDetails | undefined {
  const v = input['statusDetails'];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) throw bad('statusDetails must be an object of strings');
  return v as StatusDetails;
}

const bool = (input: Input, field: string): boolean => input[field] === true;

function configOf(input: Input): JobConfig {
  const config: JobConfig = {};
  for (const key of ['timeoutConfig', 'jobExecutionsRolloutConfig', 'abortConfig', 'jobExecutionsRetryConfig', 'presignedUrlConfig'] as const) {
    const v = input[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw bad(`${key} must be an object`);
    (config as Record<string, unknown>)[key] = v;
  }
  if (config.abortConfig && !Array.isArray(config.abortConfig.criteriaList)) throw bad('abortConfig.criteriaList must be a list');
  if (config.jobExecutionsRetryConfig && !Array.isArray(config.jobExecutionsRetryConfig.criteriaList)) throw bad('jobExecutionsRetryConfig.criteriaList must be a list');
  return config;
}

function withOptional<T extends object>(base: T, extra: Record<string, unknown>): T {
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) (base as Record<string, unknown>)[k] = v;
  return base;
}

export interface EmulatorParts {
  createThing(name: string): Promise<ThingCredentials>;
  upload(file: string, s3Url: string): Promise<unknown>;
}

/** Every route of the control API. */
export function controlOperations(c: JobsControl, parts: EmulatorParts): Record<string, Operation> {
  return {
    'create-job': (i) => Promise.resolve(c.createJob(withOptional({ jobId: str(i, 'jobId'), targets: strings(i, 'targets'), document: str(i, 'document'), ...configOf(i) }, { description: optStr(i, 'description') }))),
    'describe-job': (i) => Promise.resolve(c.describeJob(str(i, 'jobId'))),
    'get-job-document': (i) => Promise.resolve(c.getJobDocument(str(i, 'jobId'))),
    'list-jobs': (i) => Promise.resolve(c.listJobs(optStr(i, 'status'))),
    'list-job-executions-for-job': (i) => Promise.resolve(c.listJobExecutions(str(i, 'jobId'), optStr(i, 'status'))),
    'describe-job-execution': (i) => Promise.resolve(c.describeJobExecution(withOptional({ jobId: str(i, 'jobId'), thingName: str(i, 'thingName') }, { executionNumber: optNum(i, 'executionNumber') }))),
    'cancel-job': (i) => Promise.resolve(c.cancelJob(withOptional({ jobId: str(i, 'jobId'), force: bool(i, 'force') }, { comment: optStr(i, 'comment'), reasonCode: optStr(i, 'reasonCode') }))),
    'cancel-job-execution': (i) => Promise.resolve(c.cancelJobExecution(withOptional({ jobId: str(i, 'jobId'), thingName: str(i, 'thingName'), force: bool(i, 'force') }, {
      expectedVersion: optNum(i, 'expectedVersion'), statusDetails: detailsOf(i),
    }))),
    'delete-job': (i) => Promise.resolve(c.deleteJob({ jobId: str(i, 'jobId'), force: bool(i, 'force') })),
    'associate-targets-with-job': (i) => Promise.resolve(c.associateTargets({ jobId: str(i, 'jobId'), targets: strings(i, 'targets') })),
    'remove-targets': (i) => Promise.resolve(c.removeTargets({ jobId: str(i, 'jobId'), targets: strings(i, 'targets') })),
    'create-thing': (i) => parts.createThing(str(i, 'thingName')),
    'upload': (i) => parts.upload(str(i, 'file'), str(i, 'as')),
    'ping': () => Promise.resolve({ ok: true }),
  };
}
