// One JSON log line per connection event, with a stable `event` name. Repeats of the same
// failure go to debug, so a device that cannot connect for a week logs its cause once per change.

import type { Logger } from '../../common/log.ts';
import type { Endpoint } from '../config.ts';
import type { ConnectionEvent } from './machine.ts';

function name(endpoints: readonly Endpoint[], index: number): string {
  const e = endpoints[index];
  return e === undefined ? `#${index}` : `${e.host}:${e.port}`;
}

/** Log a connection event. */
export function logEvent(log: Logger, e: ConnectionEvent, endpoints: readonly Endpoint[]): void {
  switch (e.type) {
    case 'connecting':
      log.debug({ event: 'connecting', endpoint: name(endpoints, e.endpoint), attempt: e.attempt }, 'connecting');
      return;
    case 'connected':
      log.info({ event: 'connect', endpoint: name(endpoints, e.endpoint), rejoinedSession: e.rejoinedSession }, 'connected');
      return;
    case 'interrupted':
      log.warn({ event: 'disconnect', reason: e.reason, detail: e.detail }, 'connection lost');
      return;
    case 'connect-failed':
      log[e.repeat ? 'debug' : 'warn']({ event: 'connect-failed', reason: e.reason, detail: e.detail }, 'connection attempt failed');
      return;
    case 'auth-failed':
      log[e.repeat ? 'debug' : 'error']({ event: 'auth-failure', detail: e.detail }, 'credentials refused; retrying slowly');
      return;
    case 'waiting-credentials':
      log[e.repeat ? 'debug' : 'warn']({ event: 'credentials-missing', path: e.path }, 'credentials not present; checking later');
      return;
    case 'retry-scheduled':
      log.debug({ event: 'retry-scheduled', policy: e.policy, delayMs: e.delayMs }, 'next attempt scheduled');
      return;
    case 'failover':
      log.warn({ event: 'failover', from: name(endpoints, e.from), to: name(endpoints, e.to) }, 'switching endpoint');
      return;
    case 'stopped':
      log.info({ event: 'stopped' }, 'connection stopped');
      return;
  }
}
