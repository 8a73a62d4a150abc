// Host paths the rig starts from.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The guest's Node 24 until the release tarball ships its own: the checkout's npm `node`. */
export const CHECKOUT_NODE = join(REPO_ROOT, 'node_modules/node/bin/node');
