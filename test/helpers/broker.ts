// A real Mosquitto for one test: its own temp dir, PKI, port and certificates, removed after.

import type { TestContext } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPki, issueClientCert, type ClientCredentials, type Pki } from '../../emulator/broker/pki.ts';
import { startMosquitto, type MosquittoHandle, type MosquittoOptions } from '../../emulator/broker/mosquitto.ts';

export interface TestBroker {
  broker: MosquittoHandle;
  pki: Pki;
  dir: string;
  /** Client certificate for a thing (CN = name), made once per name. */
  thing(name: string): Promise<ClientCredentials>;
}

type Context = Pick<TestContext, 'after'>;

/** Starts a broker for the test `t`; it is stopped and its files removed when the test ends. */
export async function startTestBroker(t: Context, options: Omit<MosquittoOptions, 'dir' | 'pki'> = {}): Promise<TestBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-broker-'));
  const pki = await createPki(join(dir, 'pki'));
  const broker = await startMosquitto({ ...options, dir: join(dir, 'broker'), pki });
  t.after(async () => {
    await broker.kill9();
    await rm(dir, { recursive: true, force: true });
  });
  const issued = new Map<string, Promise<ClientCredentials>>();
  return {
    broker,
    pki,
    dir,
    thing: (name) => {
      let creds = issued.get(name);
      if (!creds) {
        creds = issueClientCert(pki, name);
        issued.set(name, creds);
      }
      return creds;
    },
  };
}
