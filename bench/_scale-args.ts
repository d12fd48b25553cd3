// The scale bench's command line (bench/scale.ts), apart from the bench so it can be tested without loading the app.
import path from 'node:path';

export const STAGES = ['import', 'rescan', 'thumbnails', 'split', 'label', 'grid', 'train-cnn', 'train-mobilenet', 'health', 'export'] as const;
export type StageName = (typeof STAGES)[number];
/** What each stage needs run before it (run too when a --stages list leaves it out). Export needs a trained run:
 * `cnn`'s, or `mobilenetv2`'s when only that one is asked for (withPrerequisites). */
const NEEDS: Record<StageName, StageName[]> = {
  import: [], rescan: ['import'], thumbnails: ['import'], split: ['import'], label: ['import'], grid: ['import'],
  'train-cnn': ['split'], 'train-mobilenet': ['split'], health: ['split'], export: [],
};

export interface ScaleArgs {
  n: number;
  seed: number;
  keep: string | null;
  stages: StageName[];
  /** Why n is what it is, for the printout ("--n", "default"). */
  nFrom: string;
}

/** Parses the options; throws one line saying what is wrong. */
export function parseScaleArgs(argv: readonly string[]): ScaleArgs {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (!['--n', '--seed', '--keep', '--stages'].includes(flag)) throw new Error(`unknown option ${flag} (use --n N, --seed S, --keep DIR, --stages ${STAGES.join(',')})`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
    values.set(flag, value);
    i++;
  }
  const whole = (flag: string, min: number, fallback: number): number => {
    const text = values.get(flag);
    if (text === undefined) return fallback;
    const value = Number(text.replace(/[_,]/g, ''));
    if (!Number.isInteger(value) || value < min) throw new Error(`${flag} must be a whole number >= ${min} (got "${text}")`);
    return value;
  };
  const n = whole('--n', 20, 20_000);
  let stages: StageName[] = [...STAGES];
  if (values.has('--stages')) {
    const asked = values.get('--stages')!.split(',').map((name) => name.trim()).filter(Boolean);
    const unknown = asked.filter((name) => !(STAGES as readonly string[]).includes(name));
    if (unknown.length > 0) throw new Error(`unknown stage ${unknown.join(', ')} (stages: ${STAGES.join(', ')})`);
    stages = withPrerequisites(asked as StageName[]);
  }
  return { n, seed: whole('--seed', 0, 1), keep: values.has('--keep') ? path.resolve(values.get('--keep')!) : null, stages, nFrom: values.has('--n') ? '--n' : 'default' };
}

/** The asked stages plus what they need, in pipeline order. */
export function withPrerequisites(asked: readonly StageName[]): StageName[] {
  const wanted = new Set<StageName>();
  const add = (stage: StageName) => {
    if (wanted.has(stage)) return;
    wanted.add(stage);
    NEEDS[stage].forEach(add);
  };
  asked.forEach(add);
  if (wanted.has('export') && !wanted.has('train-mobilenet')) add('train-cnn');
  return STAGES.filter((stage) => wanted.has(stage));
}
