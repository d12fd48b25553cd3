import type { Services } from '../services/index';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  /** For repeatable string flags. */
  multiple?: boolean;
}

export interface CommandContext {
  /** Opens the catalogue lazily: `--help` and usage errors never touch the database. */
  services(): Services;
  json: boolean;
  /** Progress and human-readable lines go to stderr so stdout stays one JSON document with --json. */
  log(line: string): void;
  /** The command's result: printed as JSON with --json, else through `human`. */
  output(value: unknown, human?: (value: unknown) => string): void;
  signal: AbortSignal;
}

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Positionals, as documented in usage; the command validates their count. */
  run(args: { positionals: string[]; values: ParsedValues }, context: CommandContext): Promise<number | void>;
}

/** A bad command line: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
