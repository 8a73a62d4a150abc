// Preloaded (`node --import`) into a `twinslot supervisor` under test: records every module the
// process loads (ESM and CommonJS, through module.registerHooks) and Node's own built-ins, and
// writes them as JSON to $TWINSLOT_TEST_MODULE_LOG when the process exits. Other processes that
// inherit the preload (the app) record nothing.
import module from 'node:module';
import { writeFileSync } from 'node:fs';

const out = process.env.TWINSLOT_TEST_MODULE_LOG;
if (out && process.argv[2] === 'supervisor') {
  const urls = [];
  module.registerHooks({
    load(url, context, nextLoad) {
      urls.push(url);
      return nextLoad(url, context);
    },
  });
  process.on('exit', () => {
    writeFileSync(out, JSON.stringify({ pid: process.pid, modules: urls, builtins: process.moduleLoadList }));
  });
}
