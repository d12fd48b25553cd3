import { AppError } from '../../shared/errors';
import type { SplitInfo, Subset } from '../../shared/contract/datasets';
import type { Database } from '../catalogue/database';
import { dataHashOf, getSplit, insertSplit, splitCandidates } from '../catalogue/splits';
import type { SplitCandidate } from '../catalogue/splits';
import { mulberry32 } from '../../shared/random';

export interface SplitOptions {
  preset: 'stratified' | 'tutorial';
  train: number;
  val: number;
  test: number;
  seed: number;
}

function seedFor(seed: number, text: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Fisher-Yates with a seeded generator; the input order must itself be deterministic (we sort by content hash). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const random = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function byClass(images: readonly SplitCandidate[]): Map<string, SplitCandidate[]> {
  const groups = new Map<string, SplitCandidate[]>();
  for (const image of [...images].sort((a, b) => (a.contentHash < b.contentHash ? -1 : a.contentHash > b.contentHash ? 1 : a.imageId - b.imageId))) {
    const group = groups.get(image.className) ?? [];
    group.push(image);
    groups.set(image.className, group);
  }
  return groups;
}

/** How many of n go to train/val/test; small classes still get one validation (and test) image when they can. */
export function subsetSizes(n: number, fractions: { train: number; val: number; test: number }): { train: number; val: number; test: number } {
  let val = Math.round(n * fractions.val);
  let test = Math.round(n * fractions.test);
  if (fractions.val > 0 && val === 0 && n >= 2) val = 1;
  if (fractions.test > 0 && test === 0 && n >= 3) test = 1;
  while (val + test > n) {
    if (test > 0) test--;
    else val--;
  }
  let train = n - val - test;
  if (fractions.train > 0 && train === 0 && n >= 1) {
    if (val > 1 || (val > 0 && test === 0)) val--;
    else if (test > 0) test--;
    train = n - val - test;
  }
  return { train, val, test };
}

/**
 * Stratified, seeded assignment: within each class the images (ordered by content hash, so ids and import order do
 * not matter) are shuffled with a seed derived from the split seed and the class name, then cut by the fractions.
 */
export function assignStratified(images: readonly SplitCandidate[], options: Omit<SplitOptions, 'preset'>): Map<number, Subset> {
  const assignment = new Map<number, Subset>();
  for (const [className, group] of byClass(images)) {
    const order = shuffled(group, seedFor(options.seed, className));
    const sizes = subsetSizes(order.length, options);
    order.forEach((image, index) => {
      assignment.set(image.imageId, index < sizes.train ? 'train' : index < sizes.train + sizes.val ? 'val' : 'test');
    });
  }
  return assignment;
}

/**
 * The tutorial's split: train/ is training data; validation/ is split again, 1/5 of it (per class, seeded) becoming
 * the test set, as the TensorFlow tutorial does with `val_batches // 5`.
 */
export function assignTutorial(images: readonly SplitCandidate[], seed: number): Map<number, Subset> {
  const assignment = new Map<number, Subset>();
  const validation: SplitCandidate[] = [];
  for (const image of images) {
    if (image.folderSplit === 'train' || image.folderSplit === 'test') assignment.set(image.imageId, image.folderSplit);
    else if (image.folderSplit === 'val') validation.push(image);
  }
  for (const [className, group] of byClass(validation)) {
    const order = shuffled(group, seedFor(seed, className));
    const testCount = Math.floor(order.length / 5);
    order.forEach((image, index) => assignment.set(image.imageId, index < testCount ? 'test' : 'val'));
  }
  return assignment;
}

export function createSplit(db: Database, datasetId: number, options: SplitOptions): SplitInfo {
  const { images, duplicates } = splitCandidates(db, datasetId);
  if (images.length === 0) throw new AppError('conflict', 'There are no labelled images to split yet: label some images first.');
  let assignment: Map<number, Subset>;
  let fractions = { train: options.train, val: options.val, test: options.test };
  if (options.preset === 'tutorial') {
    if (!images.some((image) => image.folderSplit !== null)) {
      throw new AppError(
        'conflict',
        'The tutorial preset needs the train/ and validation/ folders of the tutorial layout; this dataset has none, so use fractions instead.',
      );
    }
    assignment = assignTutorial(images, options.seed);
  } else {
    const sum = options.train + options.val + options.test;
    if (Math.abs(sum - 1) > 1e-6) {
      throw new AppError('invalid-payload', `The fractions must add up to 1 (train ${options.train} + val ${options.val} + test ${options.test} = ${Number(sum.toFixed(6))}).`);
    }
    if (options.train <= 0 || options.val <= 0) throw new AppError('invalid-payload', 'A split needs a training and a validation fraction above 0.');
    assignment = assignStratified(images, options);
  }
  const lines = images
    .filter((image) => assignment.has(image.imageId))
    .map((image) => ({ contentHash: image.contentHash, className: image.className, subset: assignment.get(image.imageId)! }));
  if (options.preset === 'tutorial') {
    const count = (subset: Subset) => lines.filter((line) => line.subset === subset).length;
    fractions = { train: count('train') / lines.length, val: count('val') / lines.length, test: count('test') / lines.length };
  }
  // Leakage guard: a duplicate always goes where its original went, so the same picture never sits in two subsets.
  for (const duplicate of duplicates) {
    const subset = assignment.get(duplicate.duplicateOf);
    if (subset) assignment.set(duplicate.imageId, subset);
  }
  const splitId = insertSplit(db, datasetId, { method: options.preset, seed: options.seed, ...fractions, dataHash: dataHashOf(lines) }, assignment);
  return getSplit(db, splitId);
}
