// The table of `twinslot` commands. Each command lives in its own module, loaded on use so
// that `twinslot bundle` does not pay for the MQTT client.

import type { Command } from './command.ts';

export const COMMANDS: Record<string, () => Promise<Command>> = {
  agent: async () => (await import('./commands/agent.ts')).default,
  bundle: async () => (await import('./commands/bundle.ts')).default,
  release: async () => (await import('./commands/release.ts')).default,
  supervisor: async () => (await import('./commands/supervisor.ts')).default,
  status: async () => (await import('./commands/status.ts')).default,
  'power-fail': async () => (await import('./commands/power-fail.ts')).default,
  'power-restored': async () => (await import('./commands/power-fail.ts')).powerRestored,
  emulator: async () => (await import('./commands/emulator.ts')).default,
  job: async () => (await import('./commands/job.ts')).default,
  demo: async () => (await import('./commands/demo.ts')).default,
};
