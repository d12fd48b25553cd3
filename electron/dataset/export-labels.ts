import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import type { Database } from '../catalogue/database';
import { getDatasetRow } from '../catalogue/datasets';
import { latestSplitId } from '../catalogue/splits';
import { absoluteImagePath } from '../catalogue/training-data';

interface LabelledRow {
  rel_path: string;
  content_hash: string;
  class_name: string;
  subset: string | null;
}

function labelledImages(db: Database, datasetId: number): { root: string; rows: LabelledRow[] } {
  const dataset = getDatasetRow(db, datasetId);
  const rows = db
    .prepare(
      `SELECT i.rel_path, i.content_hash, c.name AS class_name, sa.subset
         FROM images i JOIN labels l ON l.image_id = i.id JOIN classes c ON c.id = l.class_id
         LEFT JOIN split_assignments sa ON sa.image_id = i.id AND sa.split_id = ?
        WHERE i.dataset_id = ? AND i.status = 'ok' ORDER BY i.rel_path`,
    )
    .all(latestSplitId(db, datasetId) ?? -1, datasetId) as LabelledRow[];
  return { root: dataset.root_path, rows };
}

/** RFC 4180 quoting, plus a leading apostrophe for cells a spreadsheet would run as a formula. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One row per labelled, decodable image: absolute path, path in the dataset, label, subset of the latest split, sha256. */
export async function exportLabelsCsv(db: Database, datasetId: number, file: string): Promise<{ file: string; rows: number }> {
  const { root, rows } = labelledImages(db, datasetId);
  const lines = ['path,relative_path,label,subset,sha256'];
  for (const row of rows) {
    lines.push([absoluteImagePath(root, row.rel_path), row.rel_path, row.class_name, row.subset ?? '', row.content_hash].map(csvCell).join(','));
  }
  try {
    // 'wx': never replace a file that is already there (a typo in the path must not destroy the user's data).
    await writeFile(file, lines.join('\n') + '\n', { encoding: 'utf8', flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new AppError('conflict', `${file} already exists; choose a new file name.`);
    throw new AppError('failed', `Cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return { file, rows: rows.length };
}

/** directory/<class>/<file>, copies or symbolic links; refuses a non-empty directory so exports never mix. */
export async function exportLabelFolders(
  db: Database,
  datasetId: number,
  directory: string,
  link: boolean,
): Promise<{ directory: string; files: number; classes: Record<string, number> }> {
  const { root, rows } = labelledImages(db, datasetId);
  try {
    const existing = await readdir(directory);
    if (existing.length > 0) throw new AppError('conflict', `${directory} is not empty; export into a new or empty folder.`);
  } catch (error) {
    if (error instanceof AppError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new AppError('failed', `Cannot use ${directory}: ${(error as Error).message}`);
  }
  const classes: Record<string, number> = {};
  const used = new Set<string>();
  const base = resolve(directory);
  for (const row of rows) {
    const folder = resolve(base, row.class_name);
    // Class names from folder imports never went through the contract's checks: refuse any that leave the target.
    if (dirname(folder) !== base) throw new AppError('invalid-payload', `Class "${row.class_name}" cannot be used as a folder name; rename it first.`);
    if (!(row.class_name in classes)) {
      await mkdir(folder, { recursive: true });
      classes[row.class_name] = 0;
    }
    // Two "img001.jpg" from different subfolders must not overwrite each other.
    const name = basename(row.rel_path);
    const extension = extname(name);
    let target = join(folder, name);
    for (let n = 2; used.has(target.toLowerCase()); n++) target = join(folder, `${name.slice(0, name.length - extension.length)}-${n}${extension}`);
    used.add(target.toLowerCase());
    const source = absoluteImagePath(root, row.rel_path);
    try {
      if (link) await symlink(source, target);
      else await copyFile(source, target, constants.COPYFILE_EXCL);
    } catch (error) {
      throw new AppError('failed', `Cannot ${link ? 'link' : 'copy'} ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    classes[row.class_name]!++;
  }
  return { directory, files: rows.length, classes };
}
