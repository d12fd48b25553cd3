// A catalogue of N image rows (no files) for measuring the grid's queries, labelling and splits at scale (issue 17).
// Rows go in through the catalogue's own functions, as an import would write them, so the indexes and triggers the
// app relies on are the real ones; only the decode is skipped.
import { createHash } from 'node:crypto';
import type { Database } from '../../electron/catalogue/database';
import { createDataset } from '../../electron/catalogue/datasets';
import { upsertImage } from '../../electron/catalogue/images';
import type { ImageStatus } from '../../electron/catalogue/images';
import { applyFolderLabel, ensureClass } from '../../electron/catalogue/labels';

export interface BigCatalogueOptions {
  images: number;
  classes?: number;
  /** Every n-th image has no label (0: none). */
  unlabelledEvery?: number;
  /** Every n-th image is rejected / a duplicate (0: none). */
  rejectedEvery?: number;
  duplicateEvery?: number;
  name?: string;
}

export interface BigCatalogue {
  datasetId: number;
  classIds: number[];
  /** Ids of the decodable (status ok) rows, in rel_path order. */
  okIds: number[];
}

/** rel_paths sort in insertion order ("class-3/000123.jpg" within a class; classes interleave so pages mix them). */
export function buildBigCatalogue(db: Database, options: BigCatalogueOptions): BigCatalogue {
  const classCount = options.classes ?? 2;
  const dataset = createDataset(db, options.name ?? `big-${options.images}`, `/nonexistent/big-${options.images}`, 'folders');
  const classNames = Array.from({ length: classCount }, (_, index) => `class-${index}`);
  const classIds = classNames.map((name) => ensureClass(db, dataset.id, name));
  const rows: Array<{ id: number; relPath: string; status: ImageStatus }> = [];
  db.transaction(() => {
    let firstOk: number | null = null;
    for (let index = 0; index < options.images; index++) {
      const classIndex = index % classCount;
      const relPath = `photos/${String(index).padStart(7, '0')}-${classNames[classIndex]}.jpg`;
      const status: ImageStatus =
        options.rejectedEvery && index % options.rejectedEvery === options.rejectedEvery - 1
          ? 'rejected'
          : options.duplicateEvery && index % options.duplicateEvery === options.duplicateEvery - 1
            ? 'duplicate'
            : 'ok';
      const hash = createHash('sha256').update(status === 'duplicate' ? 'first-ok' : relPath).digest('hex');
      const id = upsertImage(db, dataset.id, {
        relPath,
        contentHash: status === 'rejected' ? null : hash,
        byteSize: 40_000 + index,
        mtimeMs: 1_700_000_000_000 + index,
        width: status === 'rejected' ? null : 400,
        height: status === 'rejected' ? null : 300,
        format: status === 'rejected' ? null : 'jpeg',
        colorSpace: null,
        channels: 3,
        hasAlpha: false,
        orientation: null,
        status,
        reason: status === 'rejected' ? 'not an image' : status === 'duplicate' ? 'same content as another image' : null,
        duplicateOf: status === 'duplicate' ? firstOk : null,
        folderLabel: classNames[classIndex]!,
        folderSplit: null,
      });
      if (status === 'ok' && firstOk === null) firstOk = id;
      rows.push({ id, relPath, status });
      const unlabelled = options.unlabelledEvery && index % options.unlabelledEvery === 0;
      if (!unlabelled && status !== 'rejected') applyFolderLabel(db, id, classIds[classIndex]!, classNames[classIndex]!);
    }
  })();
  const okIds = rows.filter((row) => row.status === 'ok').sort((a, b) => (a.relPath < b.relPath ? -1 : 1)).map((row) => row.id);
  return { datasetId: dataset.id, classIds, okIds };
}
