// The emulator in a process of its own, so that its memory and CPU are measured apart from the
// coordinator and the device workers. `node emulator-host.ts <dir> <pkiDir> <bundleBytes>`; it
// adopts the cached PKI, uploads a random bundle and answers the coordinator over IPC.

import { createHash, randomBytes } from 'node:crypto';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../../common/errors.ts';
import { startEmulator, type EmulatorHandle } from '../../emulator/emulator.ts';
import type { ExecutionRow, FromHost, ToHost } from './protocol.ts';

const BUNDLE_S3 = 's3://twinslot-bench/fleet/bundle-1.1.0.bin';

function send(message: FromHost): void {
  process.send?.(message);
}

async function answer(em: EmulatorHandle, msg: ToHost): Promise<unknown> {
  switch (msg.type) {
    case 'create-job': {
      em.createJob({ jobId: msg.jobId, targets: msg.targets, document: msg.document, jobExecutionsRolloutConfig: { maximumPerMinute: msg.maximumPerMinute } });
      return { createdAt: Date.now() };
    }
    case 'executions': {
      const rows: ExecutionRow[] = em.listJobExecutions(msg.jobId).executionSummaries.map((s) => {
        const summary = s['jobExecutionSummary'] as { status: string; executionNumber: number; startedAt?: string };
        const row: ExecutionRow = { thing: String(s['thingArn']).split('/').pop() ?? '', status: summary.status, executionNumber: summary.executionNumber };
        if (summary.startedAt !== undefined) row.startedAt = summary.startedAt;
        return row;
      });
      return rows;
    }
    case 'broker-crash': {
      const killedAt = Date.now();
      await em.broker.kill9();
      await sleep(msg.downMs);
      await em.broker.restart();
      return { killedAt, restartedAt: Date.now() };
    }
    case 'pids':
      return { host: process.pid, broker: em.broker.pid };
    case 'stop':
      await em.stop();
      return null;
    default: {
      const never: never = msg;
      throw new Error(`unknown request ${JSON.stringify(never)}`);
    }
  }
}

async function main(): Promise<void> {
  const [dir, pkiDir, bytes] = process.argv.slice(2);
  if (!dir || !pkiDir || !bytes) throw new Error('usage: emulator-host.ts <dir> <pkiDir> <bundleBytes>');
  await cp(pkiDir, join(dir, 'pki'), { recursive: true });
  // Per-change persistence would rewrite the session database on every message of 1,000 clients.
  const em = await startEmulator({ dir, brokerSaveOnEveryChange: false });
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => (stopping ??= em.stop().catch(() => undefined).then(() => process.exit(0)));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown());
  process.on('disconnect', () => void shutdown());
  const bundle = randomBytes(Number(bytes));
  const file = join(dir, 'bundle.bin');
  await writeFile(file, bundle);
  await em.upload(file, BUNDLE_S3);
  process.on('message', (msg: ToHost) => {
    answer(em, msg).then((value) => send({ type: 'reply', id: msg.id, value }), (err: unknown) => send({ type: 'error', id: msg.id, error: messageOf(err) }));
  });
  send({
    type: 'ready', port: em.port, caPath: em.caPath, bundleUrl: `\${aws:iot:s3-presigned-url:${BUNDLE_S3}}`,
    bundleSha256: createHash('sha256').update(bundle).digest('hex'), bundleSize: bundle.length,
  });
}

await main();
