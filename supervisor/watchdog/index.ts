// The watchdog part of the supervisor: the Linux device, its recording double and the pet loop.

export { createLinuxWatchdog, type WatchdogErrorCode } from './linux.ts';
export { createRecordingWatchdog, type RecordingWatchdog, type RecordingWatchdogOptions, type RecordingWatchdogState } from './recording.ts';
export { createPetLoop, type PetLoop, type PetLoopOptions, type PetLoopStats } from './pet-loop.ts';
export { WDIOF_CARDRESET, WDIOF_KEEPALIVEPING, WDIOF_MAGICCLOSE, WDIOF_SETTIMEOUT } from './ioctl.ts';
