// The app runner part of the supervisor.

export { createAppRunner, type AppRunnerOptions } from './runner.ts';
export type { BackoffSettings, CrashLoopSettings } from './restart-policy.ts';
