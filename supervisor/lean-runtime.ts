// V8 settings for the supervisor process, applied before its modules load.
//
// The supervisor is idle nearly all the time (a pet every few seconds, a probe every interval,
// an IPC request now and then), so compiled code buys it nothing, while the compilers' code
// pages and the young generation's growth stay resident for good. Measured on the idle
// supervisor of bench/swap.ts (a healthy app, HTTP probe every 2 s):
//   --no-turbofan --no-maglev          ~7 MiB less (optimizing compilers never paged in)
//   --no-sparkplug                     ~1.5 MiB less (no baseline code)
//   --semi-space-growth-factor=1       ~5 MiB less (the young generation stays at its initial
//                                      size instead of growing to 2 x 8 MiB during start-up)
// The price is CPU on busy paths: a forwarded app output line costs ~11 µs instead of ~4 µs,
// i.e. about 1% of a core for an app printing 1000 lines a second.
//
// They are set here, not in NODE_OPTIONS in the systemd unit: the app inherits the supervisor's
// environment (and NODE_OPTIONS refuses most V8 flags). Flags that only act at isolate creation
// (--max-semi-space-size, --v8-pool-size) cannot be set here; with the flags above they were
// measured to save nothing more, nor was MALLOC_ARENA_MAX=2.

// Start-up leaves garbage and the bytecode of code that ran once (module bodies, config parsing,
// the first trial decisions) in the old generation, and an idle process may not collect it for
// hours. A few full collections once the supervisor has settled let V8 free that garbage and
// flush the bytecode nobody runs again (it is recompiled if ever needed): about 3 MiB less.

/** The V8 flags of the supervisor process (see above). */
export const SUPERVISOR_V8_FLAGS = ['--no-turbofan', '--no-maglev', '--no-sparkplug', '--semi-space-growth-factor=1'] as const;

/** Applies SUPERVISOR_V8_FLAGS to this process; call before the supervisor's modules are imported. */
export function applySupervisorV8Flags(): void {
  // getBuiltinModule, not an import: node:v8 is needed only for this call.
  const v8 = process.getBuiltinModule('node:v8');
  for (const flag of SUPERVISOR_V8_FLAGS) v8.setFlagsFromString(flag);
}

export const SETTLE_DELAY_MS = 5000;
// V8 flushes a function's bytecode once it went unused through this many full collections.
const SETTLE_COLLECTIONS = 8;

/**
 * Full collections `SETTLE_DELAY_MS` after the last call of `soon()` (see above): call it when
 * the supervisor has started and whenever a trial ended. The timer never keeps the process alive.
 */
export function memorySettler(): { soon(): void } {
  const v8 = process.getBuiltinModule('node:v8');
  v8.setFlagsFromString('--expose-gc');
  // The gc function exists only in contexts created after the flag: take it from a fresh one.
  const gc = process.getBuiltinModule('node:vm').runInNewContext('gc') as () => void;
  let timer: NodeJS.Timeout | undefined;
  return {
    soon(): void {
      clearTimeout(timer);
      timer = setTimeout(() => {
        for (let i = 0; i < SETTLE_COLLECTIONS; i++) gc();
      }, SETTLE_DELAY_MS).unref();
    },
  };
}
