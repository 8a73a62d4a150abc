// Limits of CreateJob's configurations as the AWS IoT API reference states them.

import { CodedError } from '../../common/errors.ts';
import type { JobConfig } from './model.ts';

const THING_ARN = /^arn:aws[a-z-]*:iot:[a-z0-9-]+:\d{12}:thing\/(.+)$/;

function invalid(message: string): CodedError {
  return new CodedError('InvalidRequestException', message);
}

/** A target as a thing name: names are taken as is, thing ARNs are reduced to their name. */
export function thingNameOf(target: string): string {
  const name = THING_ARN.exec(target)?.[1] ?? target;
  if (!/^[a-zA-Z0-9:_-]{1,128}$/.test(name)) throw invalid(`Invalid target "${target}": not a thing name or thing ARN`);
  return name;
}

function integerIn(value: unknown, min: number, max: number, what: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${what} must be an integer from ${min} to ${max}`);
  }
}

/** Checks timeout, rollout, retry, abort and presigned-URL configs against AWS's ranges. */
export function checkJobConfig(config: JobConfig): void {
  const timeout = config.timeoutConfig?.inProgressTimeoutInMinutes;
  if (timeout !== undefined) integerIn(timeout, 1, 10080, 'timeoutConfig.inProgressTimeoutInMinutes');
  const rate = config.jobExecutionsRolloutConfig?.maximumPerMinute;
  if (rate !== undefined) integerIn(rate, 1, 1000, 'jobExecutionsRolloutConfig.maximumPerMinute');
  const retries = config.jobExecutionsRetryConfig?.criteriaList;
  if (retries !== undefined) {
    let total = 0;
    for (const c of retries) {
      if (!['FAILED', 'TIMED_OUT', 'ALL'].includes(c.failureType)) throw invalid('retry failureType must be FAILED, TIMED_OUT or ALL');
      integerIn(c.numberOfRetries, 0, 10, 'numberOfRetries');
      total += c.numberOfRetries;
    }
    if (total > 10) throw invalid('The retries of all criteria together must not exceed 10');
  }
  for (const c of config.abortConfig?.criteriaList ?? []) {
    if (!['FAILED', 'REJECTED', 'TIMED_OUT', 'ALL'].includes(c.failureType)) throw invalid('abort failureType must be FAILED, REJECTED, TIMED_OUT or ALL');
    if (c.action !== 'CANCEL') throw invalid('abort action must be CANCEL');
    if (typeof c.thresholdPercentage !== 'number' || c.thresholdPercentage < 0 || c.thresholdPercentage > 100) throw invalid('thresholdPercentage must be from 0 to 100');
    integerIn(c.minNumberOfExecutedThings, 1, Number.MAX_SAFE_INTEGER, 'minNumberOfExecutedThings');
  }
  const expires = config.presignedUrlConfig?.expiresInSec;
  if (expires !== undefined) integerIn(expires, 60, 3600, 'presignedUrlConfig.expiresInSec');
}
