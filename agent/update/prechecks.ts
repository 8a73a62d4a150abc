// Checks made before any byte is downloaded. Expected outcomes (already at this version) are
// results, not exceptions.

import { statfs, stat } from 'node:fs/promises';
import semver from 'semver';
import type { JobDocument } from '../jobs/document.ts';

type InstallDocument = Extract<JobDocument, { operation: 'install' }>;

export type PrecheckResult =
  | { kind: 'proceed' }
  | { kind: 'done'; reason: 'ALREADY_INSTALLED'; message: string }
  | { kind: 'refused'; reason: 'INCOMPATIBLE_DEVICE' | 'VERSION_DOWNGRADE' | 'INSUFFICIENT_SPACE'; message: string };

export interface DeviceFacts {
  deviceType: string;
  /** Committed version, null when nothing is committed. */
  runningVersion: string | null;
}

/** Device type and version rules (pure). */
export function checkVersion(doc: InstallDocument, device: DeviceFacts): PrecheckResult {
  if (doc.compatible.length > 0 && !doc.compatible.includes(device.deviceType)) {
    return { kind: 'refused', reason: 'INCOMPATIBLE_DEVICE', message: `device type ${device.deviceType} is not in [${doc.compatible.join(', ')}]` };
  }
  const running = device.runningVersion === null ? null : semver.valid(device.runningVersion);
  if (running === null) return { kind: 'proceed' };
  if (semver.eq(doc.version, running)) return { kind: 'done', reason: 'ALREADY_INSTALLED', message: `version ${running} is already committed and running` };
  if (semver.lt(doc.version, running) && !doc.allowDowngrade) {
    return { kind: 'refused', reason: 'VERSION_DOWNGRADE', message: `${doc.version} is lower than the running ${running} and allowDowngrade is not set` };
  }
  return { kind: 'proceed' };
}

/** Free bytes for an unprivileged writer on the filesystem holding `path`. */
export async function freeBytes(path: string): Promise<{ free: number; device: number }> {
  const [fs, st] = await Promise.all([statfs(path), stat(path)]);
  return { free: fs.bavail * fs.bsize, device: st.dev };
}

/**
 * Room for the bundle file (download dir) and its extracted payload (slot dir), plus a margin on
 * each filesystem. When both live on one filesystem the needs add up. `have` is what a partial
 * download already holds.
 */
export async function checkSpace(size: number, have: number, downloadDir: string, slotsDir: string, marginBytes: number): Promise<PrecheckResult> {
  const [dl, slots] = await Promise.all([freeBytes(downloadDir), freeBytes(slotsDir)]);
  const needDownload = Math.max(0, size - have);
  const sameFs = dl.device === slots.device;
  const needs = sameFs
    ? [{ where: downloadDir, need: needDownload + size + marginBytes, free: dl.free }]
    : [{ where: downloadDir, need: needDownload + marginBytes, free: dl.free }, { where: slotsDir, need: size + marginBytes, free: slots.free }];
  for (const n of needs) {
    if (n.free < n.need) return { kind: 'refused', reason: 'INSUFFICIENT_SPACE', message: `${n.where} has ${n.free} bytes free, ${n.need} needed` };
  }
  return { kind: 'proceed' };
}
