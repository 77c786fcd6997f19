/**
 * Exit codes of the `godelayq` command, and how an error becomes one. Scripts
 * branch on these, so they are part of the command's contract (README,
 * "Command line").
 */
import { GodelayqError, JobNotFoundError, StoreCorruptError, StoreLockedError, StorePersistError, ValidationError } from '../errors.js';

export const EXIT = {
  /** Done. */
  ok: 0,
  /** Bad arguments or options (the message says which; `--help` shows the usage). */
  usage: 1,
  /** No job with that id. */
  notFound: 2,
  /** The store cannot be used now: locked by a live process, Redis unreachable, not a store folder. */
  unavailable: 3,
  /** The store's files are damaged (StoreCorruptError): `JsonFileStore.salvage` is the way out. */
  corrupt: 4,
  /** The job exists but its state does not allow the change (e.g. retry of a scheduled job). */
  conflict: 5,
  /** Anything else: a bug, or an I/O failure. */
  failure: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the command reports with a given exit code (the message is the whole report). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Bad arguments. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** The exit code for `error`. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof JobNotFoundError) return /^Expected job .* to be /.test(error.message) ? EXIT.conflict : EXIT.notFound;
  if (error instanceof StoreLockedError) return EXIT.unavailable;
  if (error instanceof StoreCorruptError) return EXIT.corrupt;
  if (error instanceof StorePersistError) return EXIT.unavailable;
  if (error instanceof ValidationError) return EXIT.usage;
  if (error instanceof GodelayqError) return EXIT.failure;
  return EXIT.failure;
}
