// A device's bundle download: one HTTPS GET of the presigned URL on its own TLS connection (each
// simulated device is a separate device), hashed as it streams.

import { createHash } from 'node:crypto';
import { get } from 'node:https';

/** Size and sha256 of the body at `url`; rejects on a non-200 answer or a network error. */
export function downloadSha256(url: string, ca: Buffer): Promise<{ size: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    if (!url.startsWith('https://127.0.0.1:')) { reject(new Error(`refusing URL outside 127.0.0.1: ${url.slice(0, 60)}`)); return; }
    const req = get(url, { ca, agent: false, timeout: 30_000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`HTTP ${res.statusCode ?? '?'}`));
        return;
      }
      const hash = createHash('sha256');
      let size = 0;
      res.on('data', (chunk: Buffer) => { size += chunk.length; hash.update(chunk); });
      res.on('end', () => resolve({ size, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('download timed out')));
    req.on('error', reject);
  });
}
