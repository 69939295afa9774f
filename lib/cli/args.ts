/** Command-line parsing with one rule for errors: one clear line and exit code 2. */

export class UsageError extends Error {}

export interface OptionSpec { type: 'number' | 'int' | 'string' | 'flag'; choices?: string[]; min?: number; max?: number }

export function parseArgs(argv: string[], specs: Record<string, OptionSpec>): { positional: string[]; options: Record<string, string | number | boolean> } {
  const positional: string[] = [];
  const options: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) { positional.push(arg); continue; }
    const [rawName, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const spec = specs[rawName];
    if (!spec) throw new UsageError(`unknown option --${rawName} (see torchrnn --help)`);
    if (spec.type === 'flag') {
      if (inline !== undefined) throw new UsageError(`--${rawName} takes no value`);
      options[rawName] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${rawName} needs a value`);
    if (spec.type === 'string') {
      if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`--${rawName} must be one of ${spec.choices.join(', ')}, not "${value}"`);
      options[rawName] = value;
      continue;
    }
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
      throw new UsageError(`--${rawName} must be ${spec.type === 'int' ? 'an integer' : 'a number'}, not "${value}"`);
    }
    if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
      const range = spec.max === undefined ? `>= ${spec.min}` : spec.min === undefined ? `<= ${spec.max}` : `in [${spec.min}, ${spec.max}]`;
      throw new UsageError(`--${rawName} must be ${range}, not ${value}`);
    }
    options[rawName] = n;
  }
  return { positional, options };
}
