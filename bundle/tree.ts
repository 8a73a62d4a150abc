// Path rules for bundle entries, and where a symlink really leads. Pure: shared by the
// manifest validator, the tar entry checks and `bundle create`.

import { posix } from 'node:path';
import type { BundleErrorCode } from './errors.ts';

export interface PathProblem {
  code: BundleErrorCode;
  reason: string;
}

/** Names the bundle itself uses at the slot root; a payload may not use them. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['manifest.json', 'manifest.sig']);

const MAX_PATH_BYTES = 4095;
const MAX_COMPONENT_BYTES = 255;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Problems that make an archive name dangerous wherever it appears (absolute, `..`, not UTF-8). */
export function dangerousPath(path: string): PathProblem | undefined {
  if (path.includes('\ufffd') || LONE_SURROGATE.test(path)) {
    return { code: 'BUNDLE_NAME_NOT_UTF8', reason: 'name is not valid UTF-8' };
  }
  if (path.startsWith('/')) return { code: 'BUNDLE_PATH_ABSOLUTE', reason: 'absolute path' };
  if (path.split('/').includes('..')) return { code: 'BUNDLE_PATH_TRAVERSAL', reason: 'path contains ".."' };
  return undefined;
}

/** Problems of a manifest path: dangerous, or not in the one canonical spelling (`a/b`). */
export function manifestPathProblem(path: string): PathProblem | undefined {
  const danger = dangerousPath(path);
  if (danger) return danger;
  const invalid = (reason: string): PathProblem => ({ code: 'BUNDLE_MANIFEST_INVALID', reason });
  if (path === '') return invalid('path is empty');
  if (CONTROL.test(path)) return invalid('path contains a control character');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return invalid(`path is longer than ${MAX_PATH_BYTES} bytes`);
  for (const part of path.split('/')) {
    if (part === '' || part === '.') return invalid('path is not canonical (empty or "." component, or trailing "/")');
    if (Buffer.byteLength(part) > MAX_COMPONENT_BYTES) return invalid(`a path component is longer than ${MAX_COMPONENT_BYTES} bytes`);
  }
  if (RESERVED_NAMES.has(path)) return invalid(`"${path}" is reserved for the bundle's own metadata`);
  return undefined;
}

/** True when a symlink at `linkPath` pointing to `target` leaves the slot by its spelling alone. */
export function symlinkEscapesLexically(linkPath: string, target: string): boolean {
  if (target.startsWith('/')) return true;
  const resolved = posix.normalize(posix.join(posix.dirname(linkPath), target));
  return resolved === '..' || resolved.startsWith('../');
}

const MAX_LINK_DEPTH = 40; // Linux's MAXSYMLINKS
const MAX_STEPS = 100_000;

/**
 * Why following the symlink at `linkPath` (target `target`) would leave the slot, or undefined
 * when it stays inside. Resolution follows the other symlinks of the bundle exactly as the
 * kernel would (`..` after a link applies to the link's target), and treats names the bundle
 * does not list as directories, since the app may create them later.
 */
export function symlinkEscape(linkPath: string, target: string, symlinks: ReadonlyMap<string, string>): string | undefined {
  const budget = { steps: 0 };
  const start = posix.dirname(linkPath) === '.' ? [] : posix.dirname(linkPath).split('/');
  const result = walk(start, target, symlinks, 0, budget);
  return typeof result === 'string' ? result : undefined;
}

function walk(stack: string[], target: string, symlinks: ReadonlyMap<string, string>, depth: number, budget: { steps: number }): string[] | string {
  if (target.startsWith('/')) return `points to the absolute path "${target}"`;
  let here = [...stack];
  for (const part of target.split('/')) {
    budget.steps += 1;
    if (budget.steps > MAX_STEPS) return 'too many symlinks to resolve';
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (here.length === 0) return 'leads outside the slot';
      here.pop();
      continue;
    }
    const next = [...here, part].join('/');
    const linked = symlinks.get(next);
    if (linked === undefined) {
      here.push(part);
      continue;
    }
    if (depth >= MAX_LINK_DEPTH) return 'symlink loop';
    const resolved = walk(here, linked, symlinks, depth + 1, budget);
    if (typeof resolved === 'string') return resolved;
    here = resolved;
  }
  return here;
}
