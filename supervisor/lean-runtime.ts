// V8 settings for the supervisor process, given on its command line (never changed at run time:
// V8 flags changed after start-up once ended a supervisor in a fatal V8 check as it started in
// the QEMU system tests). The release launcher (installer/release/build.ts) passes them to
// `twinslot supervisor`, as do the supervisor tests and bench/swap.ts.
//
// The supervisor is idle nearly all the time (a pet every few seconds, a probe every interval,
// an IPC request now and then), so compiled code buys it nothing, while the compilers' code
// pages and the young generation's growth stay resident for good. Measured on the idle
// supervisor of bench/swap.ts (a healthy app, HTTP probe every 2 s):
//   --no-turbofan --no-maglev          ~7 MiB less (optimizing compilers never paged in)
//   --no-sparkplug                     ~1.5 MiB less (no baseline code)
//   --max-semi-space-size=1            ~5 MiB less (a young generation of 2 x 1 MiB instead of
//                                      growing to 2 x 8 MiB during start-up)
//   --expose-gc                        for memorySettler below
// The price is CPU on busy paths: a forwarded app output line costs ~11 µs instead of ~4 µs,
// i.e. about 1% of a core for an app printing 1000 lines a second.
//
// Not in NODE_OPTIONS in the systemd unit: the app inherits the supervisor's environment (and
// NODE_OPTIONS refuses most V8 flags); command-line flags stay with the supervisor's process.
//
// Start-up leaves garbage and the bytecode of code that ran once (module bodies, config parsing,
// the first trial decisions) in the old generation, and an idle process may not collect it for
// hours. A few full collections once the supervisor has settled let V8 free that garbage and
// flush the bytecode nobody runs again (it is recompiled if ever needed): about 2-3 MiB less.

/** The supervisor's V8 flags (see above), for its command line: `node <flags> cli/main.ts supervisor`. */
export const SUPERVISOR_V8_FLAGS = ['--no-turbofan', '--no-maglev', '--no-sparkplug', '--max-semi-space-size=1', '--expose-gc'] as const;

export const SETTLE_DELAY_MS = 5000;
// V8 flushes a function's bytecode once it went unused through this many full collections.
const SETTLE_COLLECTIONS = 8;

/**
 * Full collections `SETTLE_DELAY_MS` after the last call of `soon()` (see above): call it when
 * the supervisor has started and whenever a trial ended. A process started without
 * `--expose-gc` (e.g. `npx twinslot supervisor` from a checkout) skips them. The timer never
 * keeps the process alive.
 */
export function memorySettler(): { soon(): void } {
  const gc = (globalThis as { gc?: () => void }).gc;
  let timer: NodeJS.Timeout | undefined;
  return {
    soon(): void {
      if (gc === undefined) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        for (let i = 0; i < SETTLE_COLLECTIONS; i++) gc();
      }, SETTLE_DELAY_MS).unref();
    },
  };
}
