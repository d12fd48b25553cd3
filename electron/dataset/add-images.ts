// "Add to the dataset with its right label" (Try it, issue 14): a photo from outside the dataset's folder is copied
// into it, under its class's folder, and catalogued as a person's label, so the next run trains on it. Nothing is ever
// overwritten, a file the image policy refuses is refused with its reason before anything is written, and the copy
// can be taken back (undo) while its bytes are still the ones written.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { AppError } from '../../shared/errors';
import type { Database } from '../catalogue/database';
import { addedImageRow, assignToTraining, forgetAddedImage, imageWithContent, relPathTaken } from '../catalogue/added-images';
import { getDatasetRow } from '../catalogue/datasets';
import { upsertImage } from '../catalogue/images';
import { getClass, setLabels } from '../catalogue/labels';
import { latestSplitId } from '../catalogue/splits';
import { readRegularFile } from '../files/read-regular-file';
import { MAX_IMAGE_FILE_BYTES } from '../imaging/image-policy';
import { contentHashOf, readVerifiedImage } from './content';
import { probeImage } from './validate';

/** A photo to add: the name the user knows it by and where its bytes are on this machine (an upload or a dropped path). */
export interface PhotoToAdd {
  name: string;
  path: string;
}

export interface AddedPhoto {
  imageId: number;
  relPath: string;
  name: string;
}

export interface AddPhotosResult {
  added: AddedPhoto[];
  className: string;
  /** The split the photos joined (its training subset), or null when the dataset has no split yet. */
  splitId: number | null;
  /** One line for the user: where the copies went and what the next run does with them. */
  message: string;
}

/** The extensions of each accepted format (the first is given to copies whose name had none, or another format's). */
const EXTENSIONS_OF: Record<string, readonly string[]> = {
  jpeg: ['.jpg', '.jpeg'], png: ['.png'], webp: ['.webp'], gif: ['.gif'], tiff: ['.tif', '.tiff'], avif: ['.avif'],
};

/** A file name safe on every platform, keeping letters of any script (a "chat noir 🐈.jpg" stays readable). */
export function safePhotoName(name: string, format: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  let clean = base.normalize('NFC').replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '_').replace(/^[.\s]+/, '').replace(/[.\s]+$/, '').trim();
  const ext = extname(clean).toLowerCase();
  const extensions = EXTENSIONS_OF[format] ?? ['.jpg'];
  if (!extensions.includes(ext)) clean = `${clean || 'photo'}${extensions[0]}`;
  // 120 characters keep the whole path well inside every platform's limit.
  if ([...clean].length > 120) {
    const extension = extname(clean);
    clean = [...clean.slice(0, clean.length - extension.length)].slice(0, 120 - extension.length).join('') + extension;
  }
  return clean;
}

/** The class's folder under the root: an existing one differing only in case is reused ("Cats/" for class "cats"). */
async function classFolder(root: string, className: string, layout: string): Promise<{ dir: string; relDir: string }> {
  // The tutorial layout keeps its training photos under train/<class>/, which is also where its split puts them.
  const parent = layout === 'tutorial' ? 'train' : '';
  const parentAbs = parent ? join(root, parent) : root;
  const entries = await readdir(parentAbs, { withFileTypes: true }).catch(() => []);
  const existing = entries.find((entry) => entry.isDirectory() && entry.name.toLowerCase() === className.toLowerCase())?.name;
  const folder = existing ?? className;
  return { dir: join(parentAbs, folder), relDir: parent ? `${parent}/${folder}` : folder };
}

function describeReadFailure(name: string, error: unknown): AppError {
  if (error instanceof AppError) return new AppError('unsupported', `${name}: ${error.message}. Choose a photo file.`);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new AppError('not-found', `${name}: the file no longer exists; choose the photo again.`);
  if (code === 'EACCES' || code === 'EPERM') return new AppError('failed', `${name}: Pawprint may not read this file (permission denied).`);
  return new AppError('failed', `${name}: the file could not be read (${code ?? (error as Error).message}).`);
}

/**
 * Copies each photo into the dataset's folder under its class and catalogues it with that class as a manual label;
 * with a split, each joins its training subset (the split is never redone). Every photo is read and checked by the
 * image policy before any is copied, so a bad one leaves the dataset as it was. A failure while copying removes what
 * this call already wrote.
 */
export async function addPhotos(
  db: Database,
  options: { datasetId: number; classId: number; photos: readonly PhotoToAdd[] },
  copies?: AddedCopies,
): Promise<AddPhotosResult> {
  const dataset = getDatasetRow(db, options.datasetId);
  const target = getClass(db, options.classId);
  if (target.datasetId !== dataset.id) throw new AppError('not-found', `Class ${options.classId} is not in dataset "${dataset.name}".`);
  if (options.photos.length === 0) throw new AppError('invalid-payload', 'No photo to add: choose at least one.');
  const rootInfo = await stat(dataset.root_path).catch(() => null);
  if (!rootInfo?.isDirectory()) {
    throw new AppError('not-found', `The folder of "${dataset.name}" (${dataset.root_path}) is not there any more: reconnect the drive or import the folder again.`);
  }

  // Read and check everything first.
  const checked: Array<{ name: string; bytes: Buffer; hash: string; format: string; facts: Extract<Awaited<ReturnType<typeof probeImage>>, { ok: true }>['facts'] }> = [];
  for (const photo of options.photos) {
    let bytes: Buffer;
    try {
      bytes = await readRegularFile(photo.path, { maxBytes: MAX_IMAGE_FILE_BYTES });
    } catch (error) {
      throw describeReadFailure(photo.name, error);
    }
    const probe = await probeImage(bytes);
    if (!probe.ok) throw new AppError('unsupported', `${photo.name} was not added: ${probe.reason}.`);
    const hash = contentHashOf(bytes);
    const already = imageWithContent(db, dataset.id, hash);
    if (already !== undefined) throw new AppError('conflict', `${photo.name} is already in "${dataset.name}" as ${already}: give it its label there (Dataset view).`);
    const twin = checked.find((other) => other.hash === hash);
    if (twin) throw new AppError('conflict', `${photo.name} and ${twin.name} are the same photo: add it once.`);
    checked.push({ name: photo.name, bytes, hash, format: probe.facts.format, facts: probe.facts });
  }

  const { dir, relDir } = await classFolder(dataset.root_path, target.name, dataset.layout);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const copyList: Array<{ relPath: string; name: string; hash: string; byteSize: number; mtimeMs: number; facts: (typeof checked)[number]['facts'] }> = [];
  try {
    for (const photo of checked) {
      const wanted = safePhotoName(photo.name, photo.format);
      const ext = extname(wanted);
      const stem = wanted.slice(0, wanted.length - ext.length);
      for (let attempt = 1; ; attempt++) {
        // "name (2).jpg", "name (3).jpg"…; after many clashes a random suffix ends the search.
        const fileName = attempt === 1 ? wanted : attempt <= 100 ? `${stem} (${attempt})${ext}` : `${stem}-${randomBytes(4).toString('hex')}${ext}`;
        const relPath = `${relDir}/${fileName}`;
        if (relPathTaken(db, dataset.id, relPath)) continue;
        const absPath = join(dir, fileName);
        try {
          // 'wx': O_CREAT|O_EXCL, so an existing file (or a link planted at this name) is never written through.
          await writeFile(absPath, photo.bytes, { flag: 'wx' });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw error;
        }
        written.push(absPath);
        const info = await lstat(absPath);
        copyList.push({ relPath, name: photo.name, hash: photo.hash, byteSize: info.size, mtimeMs: info.mtimeMs, facts: photo.facts });
        break;
      }
    }
  } catch (error) {
    await Promise.all(written.map((path) => rm(path, { force: true })));
    const code = (error as NodeJS.ErrnoException).code;
    throw new AppError('failed', `The photos could not be copied into ${dir} (${code ?? (error as Error).message}): check that the folder is writable.`);
  }

  const splitId = latestSplitId(db, dataset.id);
  const folderName = relDir.split('/').pop()!;
  try {
    const added = db.transaction(() =>
      copyList.map((copy): AddedPhoto => {
        const imageId = upsertImage(db, dataset.id, {
          relPath: copy.relPath,
          contentHash: copy.hash,
          byteSize: copy.byteSize,
          mtimeMs: copy.mtimeMs,
          width: copy.facts.width,
          height: copy.facts.height,
          format: copy.facts.format,
          colorSpace: copy.facts.colorSpace,
          channels: copy.facts.channels,
          hasAlpha: copy.facts.hasAlpha,
          orientation: copy.facts.orientation,
          status: 'ok',
          reason: null,
          duplicateOf: null,
          // What a re-import would read from the folder; the label below is a person's, so it stays whatever the folder says.
          folderLabel: folderName,
          folderSplit: dataset.layout === 'tutorial' ? 'train' : null,
        });
        setLabels(db, dataset.id, [{ imageId, classId: target.id }]);
        if (splitId !== null) assignToTraining(db, splitId, imageId);
        return { imageId, relPath: copy.relPath, name: copy.name };
      }),
    )();
    added.forEach((photo, index) => copies?.remember(photo.imageId, { datasetId: dataset.id, path: written[index]!, contentHash: copyList[index]!.hash }));
    const photos = added.length === 1 ? `${added[0]!.relPath}` : `${added.length} photos to ${relDir}/`;
    const message =
      splitId !== null
        ? `Added ${photos} as ${target.name}, in the training subset of the current split: the next run trains on ${added.length === 1 ? 'it' : 'them'}.`
        : `Added ${photos} as ${target.name}: the default split made when the dataset is first trained includes ${added.length === 1 ? 'it' : 'them'}.`;
    return { added, className: target.name, splitId, message };
  } catch (error) {
    await Promise.all(written.map((path) => rm(path, { force: true })));
    throw error;
  }
}

/**
 * Takes back photos that addPhotos added: the catalogue row goes (label, history and split membership with it) and the
 * copy is deleted, but only while it still holds the bytes that were written; a copy changed since is left on disk and
 * named in the message. Only ids this process added can be taken back (`copies`), so an undo never deletes a photo the
 * user put in the folder.
 */
export async function removeAddedPhotos(
  db: Database,
  copies: AddedCopies,
  options: { datasetId: number; imageIds: readonly number[] },
): Promise<{ removed: number; kept: string[] }> {
  const dataset = getDatasetRow(db, options.datasetId);
  const rows = options.imageIds.map((imageId) => {
    const copy = copies.get(imageId);
    const row = addedImageRow(db, dataset.id, imageId);
    if (!copy || !row || copy.datasetId !== dataset.id) {
      throw new AppError('not-found', `Image ${imageId} was not added to "${dataset.name}" by Try it in this session: remove it in the Dataset view instead.`);
    }
    return { imageId, copy, row };
  });
  const kept: string[] = [];
  let removed = 0;
  for (const { imageId, copy, row } of rows) {
    const unchanged = (await readVerifiedImage(copy.path, copy.contentHash)) !== null;
    if (unchanged) await rm(copy.path, { force: true });
    else if (await lstat(copy.path).then(() => true, () => false)) kept.push(row.relPath);
    forgetAddedImage(db, imageId);
    copies.delete(imageId);
    removed++;
  }
  return { removed, kept };
}

/** What addPhotos wrote in this process, by image id: the only photos removeAddedPhotos may delete. */
export class AddedCopies {
  private readonly byImage = new Map<number, { datasetId: number; path: string; contentHash: string }>();

  remember(imageId: number, copy: { datasetId: number; path: string; contentHash: string }): void {
    this.byImage.set(imageId, copy);
  }

  get(imageId: number): { datasetId: number; path: string; contentHash: string } | undefined {
    return this.byImage.get(imageId);
  }

  delete(imageId: number): void {
    this.byImage.delete(imageId);
  }
}
