// Target architectures of a release and the ELF check that proves a native binary belongs to one.

import { open } from 'node:fs/promises';
import { CodedError } from '../../common/errors.ts';

export type ReleaseArch = 'x64' | 'arm64';
export const RELEASE_ARCHES: readonly ReleaseArch[] = ['x64', 'arm64'];

// e_machine values from the ELF specification.
const MACHINES: Record<ReleaseArch, number> = { x64: 62, arm64: 183 };

/** Parses an architecture name as given on the command line. */
export function parseArch(value: string): ReleaseArch {
  const found = RELEASE_ARCHES.find((a) => a === value);
  if (!found) throw new CodedError('RELEASE_ARCH_INVALID', `unknown architecture "${value}": use ${RELEASE_ARCHES.join(' or ')}`);
  return found;
}

/** The e_machine field of an ELF file, or null when the file is not ELF. */
export async function elfMachine(file: string): Promise<number | null> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(20);
    const { bytesRead } = await fh.read(head, 0, 20, 0);
    if (bytesRead < 20 || head.readUInt32BE(0) !== 0x7f454c46) return null;
    return head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
  } finally {
    await fh.close();
  }
}

/** Throws RELEASE_WRONG_ARCH unless `machine` is the ELF machine of `arch`. */
export function expectElf(machine: number | null, arch: ReleaseArch, file: string): void {
  if (machine !== MACHINES[arch]) {
    throw new CodedError('RELEASE_WRONG_ARCH', `${file} is not a linux-${arch} binary (ELF machine ${String(machine)})`, { file, arch });
  }
}
