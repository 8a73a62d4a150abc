// Runs inside the VM: drives the supervisor over its IPC socket the way the agent does, for
// system tests that need installed slots and trials without the agent.
//   install VERSION PROBATION_S   prepare-slot, write a signed manifest (app: /bin/sleep), slot-ready
//                                 (the driver's own key is added to /etc/twinslot/trust once)
//   activate SLOT JOB_ID          start a trial of SLOT
//   wait-running SLOT             until SLOT's app runs in a trial; prints the status
//   wait-committed JOB_ID         until JOB_ID committed and the app runs; prints the status
//   wait-rolled-back JOB_ID       until JOB_ID rolled back and the app runs; prints the status
// Every command prints one JSON line.

import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signManifest } from '../../../bundle/signature.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomicSync } from '../../../common/durable-file.ts';
import { devicePaths, type SlotName } from '../../../slots/paths.ts';
import { connectSupervisor } from '../../../ipc/client.ts';
import type { StatusReport } from '../../../ipc/protocol.ts';

const paths = devicePaths('/');
const [command, arg1 = '', arg2 = ''] = process.argv.slice(2);

const KEY = '/var/lib/slot-driver-key.pem';

// The driver signs like `bundle create --key`; the supervisor reads the trust directory at each slot-ready.
function signer(): ReturnType<typeof createPrivateKey> {
  if (!existsSync(KEY)) {
    const keys = generateKeyPairSync('ed25519');
    mkdirSync(paths.trustDir, { recursive: true });
    writeFileAtomicSync(join(paths.trustDir, 'slot-driver.pem'), keys.publicKey.export({ type: 'spki', format: 'pem' }), 0o644);
    writeFileAtomicSync(KEY, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), 0o600);
  }
  return createPrivateKey(readFileSync(KEY));
}

async function install(version: string, probationSeconds: number): Promise<unknown> {
  const client = await connectSupervisor(paths.supervisorSocket);
  try {
    const { slot, path } = await client.request('prepare-slot');
    const manifest = {
      format: 1, name: 'vm-app', version, compatible: [], createdAt: new Date().toISOString(), files: [],
      entrypoint: { command: ['/bin/sleep', '1000000'] },
      health: { startTimeoutSeconds: 120, probationSeconds },
    };
    // Durable before slot-ready, as the agent's installer does: a reset soon after must find it.
    const bytes = Buffer.from(JSON.stringify(manifest));
    writeFileAtomicSync(join(path, 'manifest.sig'), signManifest(bytes, signer()));
    writeFileAtomicSync(join(path, 'manifest.json'), bytes);
    return await client.request('slot-ready', { slot });
  } finally {
    client.close();
  }
}

async function activate(slot: SlotName, jobId: string): Promise<unknown> {
  const client = await connectSupervisor(paths.supervisorSocket);
  try {
    return await client.request('activate', { slot, jobId });
  } finally {
    client.close();
  }
}

// Polls the status until `done`; a supervisor not yet listening (just booted) is waited for.
// A status that can no longer become `done` (`lost`) ends the wait with an error at once.
async function waitFor(done: (s: StatusReport) => boolean, lost: (s: StatusReport) => boolean = () => false): Promise<StatusReport> {
  for (;;) {
    const status = await connectSupervisor(paths.supervisorSocket).then(async (client) => {
      try {
        return await client.request('status');
      } finally {
        client.close();
      }
    }, () => null);
    if (status && done(status)) return status;
    if (status && lost(status)) throw new Error(`gave up: ${JSON.stringify(status)}`);
    await sleep(250);
  }
}

// The job's outcome `kind` with the app running again; the other outcome ends the wait at once.
function waitOutcome(jobId: string, kind: 'committed' | 'rolled-back'): Promise<StatusReport> {
  const outcome = (s: StatusReport): string | undefined => (s.lastOutcome?.jobId === jobId && s.trial === null ? s.lastOutcome.kind : undefined);
  return waitFor((s) => outcome(s) === kind && typeof s.app?.pid === 'number', (s) => outcome(s) !== undefined && outcome(s) !== kind);
}

const result = await (() => {
  switch (command) {
    case 'install': return install(arg1, Number(arg2));
    case 'activate': return activate(arg1 as SlotName, arg2);
    case 'wait-running': return waitFor((s) => s.trial?.slot === arg1 && s.trial.phase === 'running' && s.app?.slot === arg1 && s.app.pid !== null, (s) => s.trial === null);
    case 'wait-committed': return waitOutcome(arg1, 'committed');
    case 'wait-rolled-back': return waitOutcome(arg1, 'rolled-back');
    case undefined:
    default: throw new Error(`unknown command ${command ?? '(none)'}; see the header of slot-driver.ts`);
  }
})();
process.stdout.write(`${JSON.stringify(result)}\n`);
