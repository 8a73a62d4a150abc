// A unix socket server that accepts the one connection QEMU makes to it (QEMU runs its
// chardevs in client mode with reconnect, so the host side exists before QEMU starts and
// survives QEMU restarts) and splits what arrives into lines.

import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';

export interface LineServer {
  path: string;
  /** Sends one line to the connected peer; false when no peer is connected. */
  send(line: string): boolean;
  close(): Promise<void>;
}

/** Listens on `path`; each complete line from the peer goes to `onLine`, connects to `onConnect`. */
export async function listenLines(path: string, onLine: (line: string) => void, onConnect: () => void = () => undefined): Promise<LineServer> {
  await rm(path, { force: true });
  let peer: Socket | null = null;
  const server: Server = createServer((socket) => {
    peer?.destroy();
    peer = socket;
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).replace(/\r$/, '');
        buffered = buffered.slice(nl + 1);
        onLine(line);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (peer === socket) peer = null;
    });
    onConnect();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return {
    path,
    send(line) {
      if (!peer || peer.destroyed) return false;
      peer.write(`${line}\n`);
      return true;
    },
    async close() {
      peer?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(path, { force: true });
    },
  };
}
