// A device root laid out with install.sh's owners and modes, for attacks run as the real
// unprivileged users: /var/lib/twinslot and slots/ root's, the agent's state dir the agent's,
// the app's data dir the app's, the IPC socket in the agent's group, the app account chosen by
// the device (app.user + app.allowedUsers), root apps not allowed. The supervisor runs as root.

import type { TestContext } from 'node:test';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { testUsers, type TestUser } from '../../helpers/users.ts';
import { freePort, makeDevice, startSupervisor, teardown, install, subscribe, waitForVersion, type Device, type RunningSupervisor, type AppChoice } from '../supervisor/harness.ts';
import type { SupervisorClient } from '../../../ipc/client.ts';

export interface SecureDevice {
  device: Device;
  sup: RunningSupervisor;
  client: SupervisorClient;
  users: ReturnType<typeof testUsers>;
  /** The committed app's port (1.0.0 answers there). */
  port: number;
  /** A root-owned file (0600) with a secret inside, and a root-owned directory with a file: what attacks aim at. */
  victim: { file: string; secret: string; dir: string; dirFile: string };
}

/** Makes every directory from / down to `path` traversable by others (mkdtemp gives 0700). */
export function traversable(path: string): void {
  for (let p = path; p !== dirname(p); p = dirname(p)) chmodSync(p, 0o755);
}

function own(path: string, user: TestUser, mode: number): void {
  mkdirSync(path, { recursive: true });
  chownSync(path, user.uid, user.gid);
  chmodSync(path, mode);
}

/** A device as install.sh leaves it, 1.0.0 committed in slot a, the supervisor running as root. */
export async function secureDevice(t: Pick<TestContext, 'after'>, over: { supervisor?: Record<string, unknown>; app?: Record<string, unknown>; health?: Record<string, unknown>; legacyLayout?: boolean } = {}): Promise<SecureDevice> {
  const users = testUsers();
  const device = makeDevice({
    supervisor: { socketGroup: users.agent.name, agentUser: users.agent.name, allowRootApps: false, ...over.supervisor },
    app: { user: users.app.name, ...over.app },
    ...(over.health === undefined ? {} : { health: over.health }),
  });
  traversable(device.root);
  const p = device.paths;
  for (const dir of [p.libDir, p.slotsDir, p.slot('a'), p.slot('b')]) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
  }
  own(p.agentDir, users.agent, 0o700);
  // An older install.sh gave slots/ and both slots to the agent; the supervisor must take them back.
  if (over.legacyLayout) for (const dir of [p.slotsDir, p.slot('a'), p.slot('b')]) own(dir, users.agent, 0o755);
  own(join(p.libDir, 'data'), users.app, 0o700);
  const victimDir = join(device.root, 'victim');
  mkdirSync(victimDir, { mode: 0o755 });
  const secret = `secret-${process.pid}-${Date.now()}`;
  const file = join(victimDir, 'shadow');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  const dirFile = join(victimDir, 'keep.txt');
  writeFileSync(dirFile, 'keep\n', { mode: 0o644 });

  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  const client = await sup.client();
  t.after(() => client.close());
  const port = await freePort();
  const events = await subscribe(client);
  const slot = await install(client, p, { fixture: 'healthy-http.mjs', version: '1.0.0', port });
  await client.request('activate', { slot, jobId: 'initial' });
  await events.next('committed');
  await waitForVersion(port, '1.0.0');
  return { device, sup, client, users, port, victim: { file, secret, dir: victimDir, dirFile } };
}

/** `install` from the harness, re-exported for attack files. */
export async function installApp(s: SecureDevice, app: AppChoice): Promise<'a' | 'b'> {
  return install(s.client, s.device.paths, app);
}
