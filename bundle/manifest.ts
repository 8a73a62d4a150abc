// Parses and validates manifest.json: its shape (manifest-shape.ts), then the rules about
// meaning. Every refusal names the JSON path that failed (`/files/3/path`).

import { createHash } from 'node:crypto';
import parseSemver from 'semver/functions/parse.js';
import type { Manifest, ManifestFile } from './manifest-types.ts';
import { BundleError, type BundleErrorCode } from './errors.ts';
import { checkManifestShape } from './manifest-shape.ts';
import { manifestPathProblem, symlinkEscape } from './tree.ts';
import { DEFAULT_LIMITS } from './limits.ts';

function refuse(code: BundleErrorCode, at: string, reason: string): BundleError {
  return new BundleError(code, `manifest.json ${at || '/'}: ${reason}`, { path: at });
}

/** The manifest in `bytes`, or a BundleError saying what is wrong and where. */
export function parseManifest(bytes: Uint8Array, maxFiles: number = DEFAULT_LIMITS.maxFiles): Manifest {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw refuse('BUNDLE_MANIFEST_INVALID', '', 'not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw refuse('BUNDLE_MANIFEST_INVALID', '', `not JSON (${(err as Error).message})`);
  }
  return validateManifest(value, maxFiles);
}

/** `value` as a Manifest, checked as strictly as parseManifest checks bytes. */
export function validateManifest(value: unknown, maxFiles: number = DEFAULT_LIMITS.maxFiles): Manifest {
  checkManifestShape(value, '');
  const manifest = value as Manifest;
  if (!isStrictSemver(manifest.version)) {
    throw refuse('BUNDLE_MANIFEST_INVALID', '/version', `"${manifest.version}" is not a semantic version (semver 2.0.0)`);
  }
  if (Number.isNaN(Date.parse(manifest.createdAt))) {
    throw refuse('BUNDLE_MANIFEST_INVALID', '/createdAt', 'not a valid time');
  }
  if (manifest.files.length > maxFiles) {
    throw refuse('BUNDLE_TOO_LARGE', '/files', `${manifest.files.length} entries, more than the limit of ${maxFiles}`);
  }
  const workingDir = manifest.entrypoint.workingDir;
  if (workingDir !== undefined) {
    const problem = manifestPathProblem(workingDir);
    if (problem) throw refuse(problem.code, '/entrypoint/workingDir', problem.reason);
  }
  manifest.files.forEach((file, index) => {
    if (file.type !== 'symlink' && (file.mode & 0o022) !== 0) {
      throw refuse('BUNDLE_MODE_UNSAFE', `/files/${index}/mode`, `"${file.path}" has mode ${file.mode.toString(8).padStart(4, '0')}: group or other could write it, and so change what the slot runs`);
    }
  });
  checkTree(manifest.files);
  return manifest;
}

// semver's parser forgives a leading "v" or "=" and spaces; a manifest must spell the version exactly.
function isStrictSemver(version: string): boolean {
  const parsed = parseSemver(version);
  return parsed !== null && `${parsed.version}${parsed.build.length ? `+${parsed.build.join('.')}` : ''}` === version;
}

// Paths are canonical and unique, every ancestor is a directory, and symlinks stay inside.
function checkTree(files: readonly ManifestFile[]): void {
  const byPath = new Map<string, ManifestFile>();
  const symlinks = new Map<string, string>();
  files.forEach((file, index) => {
    const problem = manifestPathProblem(file.path);
    if (problem) throw refuse(problem.code, `/files/${index}/path`, `"${file.path}": ${problem.reason}`);
    if (byPath.has(file.path)) throw refuse('BUNDLE_MANIFEST_INVALID', `/files/${index}/path`, `"${file.path}" is listed twice`);
    byPath.set(file.path, file);
    if (file.type === 'symlink') symlinks.set(file.path, file.target);
  });
  files.forEach((file, index) => {
    const parts = file.path.split('/');
    for (let n = 1; n < parts.length; n += 1) {
      const ancestor = byPath.get(parts.slice(0, n).join('/'));
      if (ancestor && ancestor.type !== 'dir') {
        throw refuse('BUNDLE_MANIFEST_INVALID', `/files/${index}/path`, `"${file.path}" lies under "${ancestor.path}", which is a ${ancestor.type}`);
      }
    }
    if (file.type === 'symlink') {
      const escape = symlinkEscape(file.path, file.target, symlinks);
      if (escape) throw refuse('BUNDLE_SYMLINK_ESCAPE', `/files/${index}/target`, `symlink "${file.path}" -> "${file.target}" ${escape}`);
    }
  });
}

/** The bytes `bundle create` signs: the manifest as indented JSON with a final newline. */
export function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}

/** Hex SHA-256 of the manifest bytes: the identity of a slot's content (`ready{manifestSha256}`). */
export function manifestDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
