// The kernel's boot id tells a supervisor restart (same id) from a reboot (new id).

import { readFileSync } from 'node:fs';
import type { DevicePaths } from './paths.ts';

/** The boot id under the device root ('unknown' when the file cannot be read: every start then looks like a reboot). */
export function readBootId(paths: DevicePaths): string {
  try {
    return readFileSync(paths.bootId, 'utf8').trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}
