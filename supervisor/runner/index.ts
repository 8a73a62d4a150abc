// The app runner part of the supervisor.

export { createAppRunner, type AppRunnerOptions, type ContainedAppRunner } from './runner.ts';
export { Containment, type ContainmentOptions } from './containment.ts';
export type { BackoffSettings, CrashLoopSettings } from './restart-policy.ts';
