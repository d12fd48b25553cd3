// Pure helpers for comparing runs: which config fields differ, and which test images one run gets right and
// the other wrong.
import type { ConfigDifference } from '../../shared/contract/runs';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameLeaf(a: unknown, b: unknown): boolean {
  return Object.is(a, b) || JSON.stringify(a) === JSON.stringify(b);
}

function walk(values: unknown[], path: string, out: ConfigDifference[]): void {
  if (values.every(isPlainObject)) {
    const keys = new Set<string>();
    for (const value of values) for (const key of Object.keys(value)) keys.add(key);
    for (const key of [...keys].sort()) {
      walk(
        values.map((value) => value[key]),
        path ? `${path}.${key}` : key,
        out,
      );
    }
    return;
  }
  if (values.every(Array.isArray)) {
    const length = Math.max(...values.map((value) => value.length));
    for (let i = 0; i < length; i++) walk(values.map((value) => value[i]), path ? `${path}.${i}` : String(i), out);
    return;
  }
  // Mixed kinds (object vs array vs scalar vs missing) or scalars: compare as a leaf.
  const first = values[0];
  // null where the field is absent from a config, as the contract says (undefined does not survive JSON).
  if (!values.every((value) => sameLeaf(value, first))) out.push({ path, values: values.map((value) => value ?? null) });
}

/** Only the fields that differ between two or more configs, depth-first, keys in alphabetical order. */
export function configDiff(configs: readonly unknown[]): ConfigDifference[] {
  if (configs.length < 2) return [];
  const out: ConfigDifference[] = [];
  walk([...configs], '', out);
  return out;
}

export interface ImageOutcome {
  imageId: number;
  correct: boolean;
}

export interface PerImageDiff<A extends ImageOutcome, B extends ImageOutcome> {
  /** Images both runs predicted. */
  shared: number;
  /** Run B right, run A wrong. */
  fixedByB: Array<{ a: A; b: B }>;
  /** Run A right, run B wrong. */
  brokenByB: Array<{ a: A; b: B }>;
  bothWrong: number;
  bothRight: number;
  /** Images only one of the two runs predicted (different test sets are a setup error, reported, not hidden). */
  onlyA: number;
  onlyB: number;
}

/** Per-image comparison of two evaluations over the same images. */
export function perImageDiff<A extends ImageOutcome, B extends ImageOutcome>(a: readonly A[], b: readonly B[]): PerImageDiff<A, B> {
  const byId = new Map<number, B>();
  for (const item of b) byId.set(item.imageId, item);
  const result: PerImageDiff<A, B> = { shared: 0, fixedByB: [], brokenByB: [], bothWrong: 0, bothRight: 0, onlyA: 0, onlyB: 0 };
  const seen = new Set<number>();
  for (const left of a) {
    const right = byId.get(left.imageId);
    if (!right) {
      result.onlyA++;
      continue;
    }
    seen.add(left.imageId);
    result.shared++;
    if (left.correct && right.correct) result.bothRight++;
    else if (!left.correct && !right.correct) result.bothWrong++;
    else if (right.correct) result.fixedByB.push({ a: left, b: right });
    else result.brokenByB.push({ a: left, b: right });
  }
  result.onlyB = b.length - seen.size;
  return result;
}
