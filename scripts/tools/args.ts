// A small command-line parser: --name value, --name=value, boolean flags, positionals.

export class UsageError extends Error {}

export type ArgSpec = { [name: string]: 'string' | 'boolean' };
export type ParsedArgs = { options: Record<string, string | boolean>; positionals: string[] };

export function parseArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const options: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      options.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const type = spec[name];
    if (type === undefined) throw new UsageError(`unknown option --${name}`);
    if (type === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      options[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i += 1;
    }
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    options[name] = value;
  }
  return { options, positionals };
}

export function intOption(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value.trim()))
    throw new UsageError(`--${name} must be an integer, got ${String(value)}`);
  return Number(value);
}

export function rateOption(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got ${String(value)}`);
  return n;
}
