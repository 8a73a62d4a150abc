// Structured JSON logs. Every line has `component` and `event`; stderr is written synchronously
// so the last lines before a crash or a power cut are not lost in a buffer.

import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = LevelWithSilent;

export interface LogOptions {
  level?: LogLevel;
  /** Where lines go: a file descriptor (default 2, stderr). */
  fd?: number;
}

/** A logger for one component (`supervisor`, `agent`, `emulator`, ...). */
export function createLogger(component: string, options: LogOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { component },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: options.fd ?? 2, sync: true }),
  );
}

/** A logger that drops everything (tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
