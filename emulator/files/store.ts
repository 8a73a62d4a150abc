// The objects the presigned URLs serve: one file per S3 bucket and key under `<dir>/objects`,
// registered by `twinslot emulator upload FILE --as s3://bucket/key`.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CodedError } from '../../common/errors.ts';
import { fsyncDir } from '../../common/durable-file.ts';
import { isSafeObject, parseS3Url, type S3Object } from './presign.ts';

/** The file of an object in the store under `root`. */
export function objectFile(root: string, o: S3Object): string {
  return join(root, 'objects', o.bucket, ...o.key.split('/'));
}

/** Parses `s3://bucket/key` (or any S3 URL form) into a storable object name. */
export function objectOf(url: string): S3Object {
  const o = parseS3Url(url);
  if (!o || !isSafeObject(o)) throw new CodedError('EMULATOR_BAD_S3_URL', `"${url}" is not an S3 URL such as s3://bucket/key`);
  return o;
}

/** Copies `file` into the store as `url`; returns the object and its ETag. */
export async function uploadObject(root: string, file: string, url: string): Promise<{ object: S3Object; etag: string; size: number }> {
  const object = objectOf(url);
  const target = objectFile(root, object);
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.upload-${process.pid}`;
  await copyFile(file, temp);
  await rename(temp, target);
  await fsyncDir(dirname(target));
  const info = await stat(target);
  return { object, etag: await etagOf(target), size: info.size };
}

const etags = new Map<string, { mtimeMs: number; size: number; etag: string }>();

/** S3's ETag of a single-part object: the quoted MD5 of its bytes (cached by mtime and size). */
export async function etagOf(file: string): Promise<string> {
  const info = await stat(file);
  const cached = etags.get(file);
  if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.etag;
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const etag = `"${hash.digest('hex')}"`;
  etags.set(file, { mtimeMs: info.mtimeMs, size: info.size, etag });
  return etag;
}
