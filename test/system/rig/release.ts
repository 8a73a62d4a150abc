// The release of the installer issue as a payload disk: `twinslot release --arch x64` built from
// the checkout into the cache (keyed by the sources, so a test never installs a stale tarball),
// unpacked on the host (gunzip under TCG is slow) at /payload/release for install.sh.

import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError } from '../../../common/errors.ts';
import { cachedDir, fileDigest, keyOf, RIG_VERSION } from './cache.ts';
import { makeExt4 } from './disk.ts';
import { run } from './exec.ts';
import { CHECKOUT_NODE, REPO_ROOT } from './paths.ts';
import { sourceFingerprint } from './payload.ts';

/** The unpacked release inside the guest; its install.sh is `${GUEST_RELEASE}/install.sh`. */
export const GUEST_RELEASE = '/payload/release';
/** The installed CLI inside the guest (install.sh's default prefix). */
export const INSTALLED_TWINSLOT = '/opt/twinslot/current/bin/twinslot';

/** A cached payload image holding the checkout's x64 release, unpacked. */
export async function releasePayload(): Promise<string> {
  const key = keyOf(RIG_VERSION, await fileDigest(join(REPO_ROOT, 'package-lock.json')), await sourceFingerprint());
  const dir = await cachedDir(`payload-release-${key}`, async (tmp) => {
    const out = join(tmp, 'dist');
    await run(CHECKOUT_NODE, ['cli/main.ts', 'release', '--arch', 'x64', '--out', out], { cwd: REPO_ROOT });
    const tarball = (await readdir(out)).find((f) => f.endsWith('-linux-x64.tar.gz'));
    if (!tarball) throw new CodedError('RIG_NO_RELEASE', `twinslot release left no x64 tarball in ${out}`);
    const tree = join(tmp, 'tree', 'release');
    await mkdir(tree, { recursive: true });
    await run('tar', ['-xzf', join(out, tarball), '-C', tree, '--strip-components=1']);
    const kib = Number((await run('du', ['-sk', join(tmp, 'tree')])).split('\t')[0]);
    await makeExt4(join(tmp, 'payload.img'), join(tmp, 'tree'), Math.ceil((kib * 1.3) / 1024) + 32, 'twinslot-rel');
    await run('rm', ['-rf', join(tmp, 'tree'), out]);
  });
  return join(dir, 'payload.img');
}
