// Classifies why a connection attempt failed or a connection ended, from the MQTT5 reason codes
// and the CRT error names. The names are matched, never the numeric CRT codes, which change
// between aws-c-mqtt releases.

/** Why an attempt failed. `auth` = the broker or TLS refused our credentials. */
export type FailureKind = 'auth' | 'network' | 'refused' | 'timeout';

/** Why an established connection ended. */
export type DisconnectKind =
  | 'session-taken-over'
  | 'server-shutting-down'
  | 'keep-alive-timeout'
  | 'not-authorized'
  | 'server-disconnect'
  | 'connection-lost';

// CONNACK / DISCONNECT codes (MQTT 5 §3.2.2.2, §3.14.2.1).
const BAD_USERNAME_OR_PASSWORD = 0x86;
const NOT_AUTHORIZED = 0x87;
const BANNED = 0x8a;
const BAD_AUTHENTICATION_METHOD = 0x8c;
const SERVER_SHUTTING_DOWN = 0x8b;
const KEEP_ALIVE_TIMEOUT = 0x8d;
const SESSION_TAKEN_OVER = 0x8e;

const AUTH_CONNACK = new Set([BAD_USERNAME_OR_PASSWORD, NOT_AUTHORIZED, BANNED, BAD_AUTHENTICATION_METHOD]);

/** Classify a failed attempt from the CRT error name and the CONNACK reason code, if any. */
export function classifyFailure(errorName: string, connackReason: number | undefined): FailureKind {
  if (connackReason !== undefined && AUTH_CONNACK.has(connackReason)) return 'auth';
  if (connackReason !== undefined && connackReason >= 0x80) return 'refused';
  // A handshake that timed out says nothing about the credentials (a dead link looks the same).
  if (/TIMEOUT/i.test(errorName)) return 'timeout';
  if (isTlsAuthError(errorName)) return 'auth';
  return 'network';
}

/**
 * TLS handshake failures: with mutual TLS a revoked, unknown or malformed client certificate
 * is refused here, before any CONNACK. A broker that closes the socket mid-handshake after
 * rejecting the certificate shows up as a TLS negotiation failure too.
 */
export function isTlsAuthError(errorName: string): boolean {
  return /AWS_IO_TLS|TLS_NEGOTIATION|TLS_ERROR|AWS_ERROR_MQTT5_CONNACK_CONNECTION_REFUSED_NOT_AUTHORIZED|PEM|PRIVATE_KEY|CERT/i.test(
    errorName,
  );
}

/** Classify the end of an established connection from the server's DISCONNECT, if it sent one. */
export function classifyDisconnect(reasonCode: number | undefined): DisconnectKind {
  switch (reasonCode) {
    case undefined:
      return 'connection-lost';
    case SESSION_TAKEN_OVER:
      return 'session-taken-over';
    case SERVER_SHUTTING_DOWN:
      return 'server-shutting-down';
    case KEEP_ALIVE_TIMEOUT:
      return 'keep-alive-timeout';
    case NOT_AUTHORIZED:
      return 'not-authorized';
    default:
      return 'server-disconnect';
  }
}
