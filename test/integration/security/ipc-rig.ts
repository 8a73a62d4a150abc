// Set-up shared by the IPC attack tests: the real supervisor as root with its socket in the
// agent test user's group, the device root traversable by other users, the agent's state dir
// owned by the agent (as install.sh leaves it), and a sampler of the supervisor's resident memory.

import type { TestContext } from 'node:test';
import { chmodSync, chownSync, mkdirSync, readFileSync } from 'node:fs';
import type { HealthSpec } from '../../../bundle/manifest-types.ts';
import { committedDevice, startSupervisor, teardown, type Device, type RunningSupervisor } from '../supervisor/harness.ts';
import { nodeAs, testUsers, type RunResult, type TestUser } from '../../helpers/users.ts';

export interface AttackRig {
  device: Device;
  sup: RunningSupervisor;
  /** The app's HTTP port. */
  port: number;
  users: ReturnType<typeof testUsers>;
  /** Runs an ES module as `user` with SOCK set to the supervisor's socket; its stdout parsed as JSON. */
  attack(user: TestUser, source: string): Promise<Record<string, unknown>>;
}

/** A committed 1.0.0 app under a supervisor started as root; torn down after the test. */
export async function attackRig(t: TestContext, over: { supervisor?: Record<string, unknown>; health?: HealthSpec } = {}): Promise<AttackRig> {
  const users = testUsers();
  const { device, port } = committedDevice({
    supervisor: { socketGroup: users.agent.name, agentUser: users.agent.name, ...over.supervisor },
    ...(over.health === undefined ? {} : { health: over.health }),
  });
  const p = await port;
  chmodSync(device.root, 0o755); // mkdtemp made it 0700: other users must reach the socket
  mkdirSync(device.paths.agentDir, { recursive: true });
  chownSync(device.paths.agentDir, users.agent.uid, users.agent.gid);
  const sup = await startSupervisor(device);
  t.after(() => teardown(device, sup));
  const attack = async (user: TestUser, source: string): Promise<Record<string, unknown>> => {
    const res: RunResult = await nodeAs(user, source, { env: { ...process.env, SOCK: device.paths.supervisorSocket } });
    const last = res.stdout.trim().split('\n').at(-1) ?? '';
    try {
      return JSON.parse(last) as Record<string, unknown>;
    } catch {
      throw new Error(`attack as ${user.name} printed no result (exit ${res.code}): ${res.stdout.slice(-500)} ${res.stderr.slice(-2000)}`);
    }
  };
  return { device, sup, port: p, users, attack };
}

/** Resident memory of `pid` in MiB (/proc/<pid>/status VmRSS), or null once it is gone. */
export function rssMiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Samples rssMiB(pid) every 50 ms until stop(); `max` is the highest seen. */
export function sampleRss(pid: number): { readonly max: number; stop(): void } {
  let max = rssMiB(pid) ?? 0;
  const timer = setInterval(() => {
    max = Math.max(max, rssMiB(pid) ?? 0);
  }, 50);
  return {
    get max() {
      return max;
    },
    stop: () => clearInterval(timer),
  };
}

/** True while `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
