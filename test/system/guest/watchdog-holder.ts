// Runs inside the VM: opens the watchdog through twinslot's own Linux watchdog module, sets
// the timeout, pets once, prints what the driver reported as one JSON line, then ends the way
// the test asked:
//   hang   stays alive and never pets again (a hung process)
//   crash  exits without the magic close (a crashed process: the device stays armed)
//   magic  writes the magic 'V', closes and exits (a clean stop: the device is disarmed)
// Usage: node watchdog-holder.ts DEVICE TIMEOUT_SECONDS hang|crash|magic

import { readFileSync } from 'node:fs';
import { createLinuxWatchdog } from '../../../supervisor/watchdog/index.ts';

const [device = '/dev/watchdog', timeout = '5', mode = 'hang'] = process.argv.slice(2);
const watchdog = createLinuxWatchdog(device);
const info = await watchdog.open(Number(timeout));
watchdog.pet();
const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
process.stdout.write(`${JSON.stringify({ ...info, mode, uptime })}\n`);

if (mode === 'magic') {
  watchdog.closeMagic();
} else if (mode === 'crash') {
  process.exit(3);
} else {
  // Alive but never petting again: the event loop idles on a timer that does nothing.
  setInterval(() => undefined, 1 << 30);
}
