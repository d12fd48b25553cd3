import type { Subset } from '../../shared/contract/datasets';

export type Layout = 'folders' | 'tutorial' | 'flat';

const SPLIT_FOLDERS: Record<string, Subset> = { train: 'train', training: 'train', validation: 'val', val: 'val', test: 'test' };

/**
 * The tutorial layout is root/train/<class>/… plus root/validation/<class>/… (the cats_and_dogs_filtered zip);
 * 'flat' is a folder with photos and no subfolders; everything else is one subfolder per class.
 */
export function detectLayout(relPaths: readonly string[]): Layout {
  let train = false;
  let validation = false;
  let nested = false;
  for (const relPath of relPaths) {
    const parts = relPath.split('/');
    if (parts.length >= 2) nested = true;
    if (parts.length >= 3) {
      const top = SPLIT_FOLDERS[parts[0]!.toLowerCase()];
      if (top === 'train') train = true;
      if (top === 'val') validation = true;
    }
  }
  if (train && validation) return 'tutorial';
  return nested ? 'folders' : 'flat';
}

/** Label (nearest subfolder under the root, or under train/validation in the tutorial layout) and folder split. */
export function folderLabel(relPath: string, layout: Layout): { label: string | null; split: Subset | null } {
  const parts = relPath.split('/');
  if (layout === 'tutorial') {
    const split = SPLIT_FOLDERS[parts[0]!.toLowerCase()] ?? null;
    if (split && parts.length >= 3) return { label: parts[1]!, split };
    // Files beside train/ and validation/ keep the plain folder rule and no split.
    return { label: parts.length >= 2 && !split ? parts[0]! : null, split: null };
  }
  return { label: parts.length >= 2 ? parts[0]! : null, split: null };
}
