// What a tar entry header may be: a regular file, a directory or a symlink that stays inside,
// under a UTF-8 relative name without `..`. Checked on every entry, manifest.json included,
// before anything else looks at it.

import type { ReadEntry } from 'tar/read-entry';
import { BundleError, type BundleErrorCode } from './errors.ts';
import { dangerousPath, symlinkEscapesLexically } from './tree.ts';

export type EntryKind = 'file' | 'dir' | 'symlink';

export interface CheckedEntry {
  /** The entry's name without a directory's trailing slash. */
  path: string;
  kind: EntryKind;
  size: number;
  linkpath?: string;
}

const KINDS: Record<ReadEntry['type'], EntryKind | BundleErrorCode> = {
  File: 'file',
  OldFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
  Link: 'BUNDLE_HARDLINK',
  CharacterDevice: 'BUNDLE_DEVICE_NODE',
  BlockDevice: 'BUNDLE_DEVICE_NODE',
  FIFO: 'BUNDLE_FIFO',
  ContiguousFile: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  GNUDumpDir: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  SparseFile: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  SolarisACL: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  Inode: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  ContinuationFile: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  TapeVolumeHeader: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  Unsupported: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  // Metadata records: the parser folds them into the next entry and never hands them out.
  GlobalExtendedHeader: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  ExtendedHeader: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  OldExtendedHeader: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  NextFileHasLongPath: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  NextFileHasLongLinkpath: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  OldGnuLongPath: 'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
};

const WHAT: Partial<Record<BundleErrorCode, string>> = {
  BUNDLE_HARDLINK: 'a hard link',
  BUNDLE_DEVICE_NODE: 'a device node',
  BUNDLE_FIFO: 'a FIFO',
};

/** The entry's name and kind, or the refusal its header earns. */
export function checkEntry(entry: ReadEntry): CheckedEntry {
  const kind = KINDS[entry.type];
  const path = kind === 'dir' ? entry.path.replace(/\/+$/, '') : entry.path;
  const danger = dangerousPath(path);
  if (danger) throw new BundleError(danger.code, `entry "${path}": ${danger.reason}`, { path });
  if (kind !== 'file' && kind !== 'dir' && kind !== 'symlink') {
    const what = WHAT[kind] ?? `of unsupported type ${entry.type}`;
    throw new BundleError(kind, `entry "${path}" is ${what}`, { path, type: entry.type, ...(entry.linkpath ? { linkpath: entry.linkpath } : {}) });
  }
  if (kind !== 'symlink') return { path, kind, size: entry.size };
  const linkpath = entry.linkpath ?? '';
  if (dangerousPath(linkpath)?.code === 'BUNDLE_NAME_NOT_UTF8') {
    throw new BundleError('BUNDLE_NAME_NOT_UTF8', `symlink "${path}": target is not valid UTF-8`, { path });
  }
  if (symlinkEscapesLexically(path, linkpath)) {
    throw new BundleError('BUNDLE_SYMLINK_ESCAPE', `symlink "${path}" -> "${linkpath}" leads outside the slot`, { path, linkpath });
  }
  return { path, kind, size: 0, linkpath };
}
