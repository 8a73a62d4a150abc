// The messages between the fleet benchmark's coordinator and its child processes (the emulator
// host and the device workers), sent over the Node IPC channel as JSON.

/** Coordinator → worker. */
export type ToWorker =
  | { type: 'init'; things: string[]; thingsDir: string; caPath: string; port: number }
  | { type: 'connect' }
  | { type: 'stats' }
  | { type: 'stop' };

/** Worker → coordinator. Times are Date.now() of the same machine. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'connected'; thing: string; at: number; attempts: number }
  | { type: 'reconnected'; thing: string; at: number }
  | { type: 'connect-failed'; thing: string; at: number; error: string }
  | { type: 'job-started'; thing: string; jobId: string; at: number }
  | { type: 'job-done'; thing: string; jobId: string; at: number }
  | { type: 'job-duplicate'; thing: string; jobId: string; at: number }
  | { type: 'job-error'; thing: string; jobId: string; error: string }
  | { type: 'stats'; stats: WorkerStats };

export interface WorkerStats {
  devices: number;
  connected: number;
  requestRetries: number;
  rssBytes: number;
  heapUsedBytes: number;
}

/** Coordinator → emulator host. */
export type ToHost =
  | { type: 'create-job'; id: number; jobId: string; document: string; maximumPerMinute: number; targets: string[] }
  | { type: 'executions'; id: number; jobId: string }
  | { type: 'broker-crash'; id: number; downMs: number }
  | { type: 'pids'; id: number }
  | { type: 'stop'; id: number };

/** Emulator host → coordinator: the answer to request `id`, or its error. */
export type FromHost =
  | { type: 'ready'; port: number; caPath: string; bundleUrl: string; bundleSha256: string; bundleSize: number }
  | { type: 'reply'; id: number; value: unknown }
  | { type: 'error'; id: number; error: string };

export interface ExecutionRow { thing: string; status: string; executionNumber: number; startedAt?: string }
