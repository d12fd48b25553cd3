// First: sizes libuv's thread pool from the cores before any other module runs (electron/files/thread-pool-size.ts).
import '../files/thread-pool-size';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { createServices } from '../services/index';
import type { Services } from '../services/index';
import { AppError } from '../../shared/errors';
import type { Command, CommandContext, OptionSpec } from './command';
import { UsageError } from './command';
import { terminalSafe } from './terminal-text';
import { commands } from './commands/index';

const commonOptions: Record<string, OptionSpec> = {
  db: { type: 'string', description: 'catalogue file (default: the app-data folder; env PAWPRINT_DB)' },
  'read-only': { type: 'boolean', description: 'open the catalogue read-only: browse it without changing it (chosen by itself when the file is not writable)' },
  json: { type: 'boolean', description: 'print one JSON document on stdout (progress goes to stderr)' },
  help: { type: 'boolean', description: 'show help for the command' },
};

function formatOptions(options: Record<string, OptionSpec>): string {
  const flags = Object.entries(options).map(([name, spec]) => [`  --${name}${spec.type === 'string' ? ' <value>' : ''}`, spec.description] as const);
  const width = Math.max(...flags.map(([flag]) => flag.length)) + 2;
  return flags.map(([flag, description]) => flag.padEnd(width) + description).join('\n');
}

export function generalHelp(): string {
  const width = Math.max(...commands.map((command) => command.name.length)) + 2;
  return [
    'Pawprint: label photos, train image classifiers with TensorFlow.js, compare runs, export models.',
    '',
    'Usage: pawprint <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    '',
    'Options for every command:',
    formatOptions(commonOptions),
    '',
    'Run `pawprint <command> --help` for the options of one command.',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return [`${command.summary}`, '', `Usage: ${command.usage}`, '', 'Options:', formatOptions({ ...command.options, ...commonOptions })].join('\n');
}

function toParseArgsOptions(options: Record<string, OptionSpec>): NonNullable<ParseArgsConfig['options']> {
  const result: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries(options)) result[name] = { type: spec.type, multiple: spec.multiple ?? false };
  return result;
}

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text + '\n'),
  stderr: (text) => process.stderr.write(text + '\n'),
};

/** Runs one CLI invocation and returns the exit code; expected failures print one line, never a stack trace. */
export async function runCli(argv: string[], io: CliIo = processIo, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(generalHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout('pawprint ' + (process.env.npm_package_version ?? ''));
    return 0;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    io.stderr(`pawprint: unknown command "${terminalSafe(name)}" (try \`pawprint --help\`)`);
    return 2;
  }
  let services: Services | undefined;
  try {
    const parsed = parseArgs({
      args: rest,
      options: toParseArgsOptions({ ...command.options, ...commonOptions }),
      allowPositionals: true,
      strict: true,
    });
    const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
    if (values.help) {
      io.stdout(commandHelp(command));
      return 0;
    }
    const json = values.json === true;
    const context: CommandContext = {
      services() {
        services ??= createServices({
          db: typeof values.db === 'string' ? values.db : undefined,
          readonly: values['read-only'] === true,
          host: { kind: 'web' },
        });
        return services;
      },
      json,
      log: (line) => io.stderr(terminalSafe(line)),
      output(value, human) {
        if (json) io.stdout(JSON.stringify(value, null, 2));
        else io.stdout(human ? human(value) : typeof value === 'string' ? value : JSON.stringify(value, null, 2));
      },
      signal,
    };
    const code = await command.run({ positionals: parsed.positionals, values }, context);
    return typeof code === 'number' ? code : 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`pawprint ${name}: ${terminalSafe((error as Error).message.split('\n')[0] ?? '')} (see \`pawprint ${name} --help\`)`);
      return 2;
    }
    // A catalogue failure outside a service call (the command read the database itself) still gets its one line.
    const described = services?.describeError(error) ?? null;
    if (error instanceof AppError || described) {
      // Service messages quote paths and names, which may hold escape codes or newlines.
      io.stderr(`pawprint ${name}: ${terminalSafe((described ?? (error as AppError)).message)}`);
      return 1;
    }
    io.stderr(`pawprint ${name}: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return 1;
  } finally {
    await services?.close();
  }
}
