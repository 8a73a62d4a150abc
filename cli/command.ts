// The shape of a `twinslot <command>` implementation.

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Working directory the user ran the command from. */
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  /** One line for `twinslot --help`. */
  summary: string;
  /** Runs the command; returns the exit code. Long-running commands resolve when they stop. */
  run(argv: string[], io: CliIo): Promise<number>;
}
