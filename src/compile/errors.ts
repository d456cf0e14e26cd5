// One error type for everything a user can fix: bad data, a bad flag, an unreachable repo.
// It carries where the problem is (file, line, column) and how to fix it (hint), so the CLI
// can print `path:line:col: message` plus the hint and no stack. Anything that is not a
// BootcfgError is a bug in bootcfg and is printed with its stack.

export interface ErrorLocation {
  /** Path as the user would type it (relative to the data directory where possible). */
  file?: string;
  /** 1-based line, when the problem has one. */
  line?: number;
  /** 1-based column, when the problem has one. */
  column?: number;
  /** One sentence saying how to fix it. */
  hint?: string;
  /** The lower-level error this one explains. */
  cause?: unknown;
}

export class BootcfgError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly hint?: string;
  /** Process exit code when this error ends the CLI: 1 failed build or validation, 2 usage. */
  readonly exitCode: number = 1;

  constructor(message: string, where: ErrorLocation = {}) {
    super(message, where.cause === undefined ? undefined : { cause: where.cause });
    this.name = new.target.name;
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
    this.hint = where.hint;
  }

  /** `file:line:col: message`, with as much of the location as is known. */
  get located(): string {
    if (!this.file) return this.message;
    const at = [this.file, this.line, this.line && this.column].filter(Boolean).join(':');
    return `${at}: ${this.message}`;
  }

  toJSON(): Record<string, unknown> {
    return { file: this.file, line: this.line, column: this.column, message: this.message, hint: this.hint };
  }
}

/** A data file, a template or the data directory itself is wrong. */
export class LoadError extends BootcfgError {}

/** A template failed to compile or render. */
export class TemplateError extends BootcfgError {}

/** Fetching, reading or writing failed for a reason outside bootcfg (git, disk, network). */
export class SourceError extends BootcfgError {}

/** A flag or argument is wrong: exit 2. */
export class UsageError extends BootcfgError {
  override readonly exitCode = 2;
}

/** Several problems found in one pass (validate and build report them all at once). */
export class ErrorList extends BootcfgError {
  readonly errors: readonly BootcfgError[];
  /** Problems found on the way that would not have failed the build (validate reports them too). */
  readonly warnings: readonly BootcfgError[];

  constructor(errors: readonly BootcfgError[], warnings: readonly BootcfgError[] = []) {
    super(errors.length === 1 ? errors[0]!.message : `${errors.length} problems`, errors.length === 1 ? errors[0] : {});
    this.errors = errors;
    this.warnings = warnings;
  }
}

/** Ends the CLI with an exit code after the command has already said everything it had to. */
export class ExitStatus extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
