import { transport } from '../lib/transport';
import { appStore } from './app.svelte';
import { datasetStore } from './datasets.svelte';
import { runsStore } from './runs.svelte';
import { MAX_UPLOAD_BYTES } from '../../../shared/contract/index';
import type { ExportModelInfo, ExportPrediction, ImageSource, LabelChange, RunSummary } from '../../../shared/contract/index';

/** One image tried on the followed run's model, with its class bars once predicted. */
export interface TryItem {
  key: string;
  name: string;
  /** Thumbnail: a blob: URL of the user's own copy (uploads), or null (a path on the host: no preview served). */
  previewUrl: string | null;
  /** Null when the upload failed (the error says why). */
  source: ImageSource | null;
  result: Extract<ExportPrediction, { ok: true }> | null;
  error: string | null;
  /** Name, size and modification time of a picked file (or the path): the same photo added again is not a new card. */
  fingerprint: string;
}

const IMAGE_NAMES = /\.(jpe?g|png|webp|gif|tiff?|avif|bmp)$/i;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function toBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The part of `path` under `root` ('/' separated), or null when it lies outside. */
export function relativeTo(root: string, path: string): string | null {
  const norm = (p: string) => p.replace(/\\/g, '/').replace(/\/+$/, '');
  const r = norm(root);
  const p = norm(path);
  return p.startsWith(`${r}/`) ? p.slice(r.length + 1) : null;
}

/**
 * "Try it" beside training (Train view, run page): images dropped, picked or browsed to are predicted by the followed
 * run's model as soon as it has one (at once after training; while it trains, when it saves its model), and a wrong
 * answer can be given its right label. Predictions run as export.predict (a predict job in the interactive worker).
 */
class TryItStore {
  runId = $state<number | null>(null);
  items = $state<TryItem[]>([]);
  model = $state<ExportModelInfo | null>(null);
  error = $state<string | null>(null);
  predicting = $state(false);
  /** What "add with its right label" did for each card (the one logic both Try it panels use). */
  readonly adder = new PhotoAdder();
  private again = false;

  constructor() {
    // The followed run saved its model (it finished training): predict what waits.
    runsStore.onRefreshed(() => {
      if (this.hasModel && this.items.some((item) => !item.result && !item.error)) void this.predictAll();
    });
  }

  get run(): RunSummary | null {
    return runsStore.runs.find((run) => run.id === this.runId) ?? null;
  }

  /** The run has a saved model to predict with. */
  get hasModel(): boolean {
    return this.run?.modelPath != null;
  }

  /** Follows another run: earlier answers belong to the old model, so they are asked again. */
  follow(runId: number | null): void {
    if (runId === this.runId) return;
    this.runId = runId;
    this.model = null;
    this.error = null;
    this.items = this.items.map((item) => ({ ...item, result: null, error: null }));
    this.adder.clear();
    void this.predictAll();
  }

  async addFiles(files: File[]): Promise<void> {
    const images = files.filter((file) => file.type.startsWith('image/') || IMAGE_NAMES.test(file.name));
    if (images.length === 0) {
      appStore.report(new Error('None of these files is an image (jpg, png, webp, gif, tiff, avif, bmp): drop or pick photos.'));
      return;
    }
    // The same photo picked or dropped again keeps its one card (and is not uploaded twice).
    const known = this.items.map((item) => item.fingerprint);
    const added: TryItem[] = [];
    for (const file of images) {
      const fingerprint = `${file.name}\u0000${file.size}\u0000${file.lastModified}`;
      if (known.includes(fingerprint)) continue;
      known.push(fingerprint);
      const item: TryItem = {
        key: `upload-${crypto.randomUUID()}`, name: file.name, previewUrl: URL.createObjectURL(file), source: null,
        result: null, error: null, fingerprint,
      };
      if (file.size > MAX_UPLOAD_BYTES) item.error = `${file.name} is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB.`;
      else {
        try {
          const upload = await transport.invoke('export.upload', { name: file.name, data: await toBase64(file) });
          item.source = { uploadId: upload.uploadId, name: upload.name };
        } catch (error) {
          item.error = messageOf(error);
        }
      }
      added.push(item);
    }
    this.items = [...added, ...this.items];
    await this.predictAll();
  }

  /** Image files on the host (the folder browser's choice); a folder adds its images. */
  async addPaths(paths: string[]): Promise<void> {
    const known = new Set(this.items.map((item) => (item.source && 'path' in item.source ? item.source.path : null)));
    const fresh = paths.filter((path) => !known.has(path));
    this.items = [
      ...fresh.map((path): TryItem => ({
        key: `path-${path}`, name: path.split(/[\\/]/).pop() ?? path, previewUrl: null, source: { path }, result: null, error: null, fingerprint: `path\u0000${path}`,
      })),
      ...this.items,
    ];
    await this.predictAll();
  }

  remove(key: string): void {
    const item = this.items.find((candidate) => candidate.key === key);
    if (item?.previewUrl) URL.revokeObjectURL(item.previewUrl);
    if (item?.source && 'uploadId' in item.source) void transport.invoke('export.discardUpload', { uploadId: item.source.uploadId }).catch(() => undefined);
    this.items = this.items.filter((candidate) => candidate.key !== key);
    this.adder.forget(key);
  }

  clear(): void {
    for (const item of this.items) this.remove(item.key);
  }

  /** Predicts every image without an answer; a request already under way is followed by one more. */
  async predictAll(): Promise<void> {
    const runId = this.runId;
    const pending = this.items.filter((item) => item.source && !item.result && !item.error);
    if (runId === null || !this.hasModel || pending.length === 0) return;
    if (this.predicting) {
      this.again = true;
      return;
    }
    this.predicting = true;
    try {
      const response = await transport.invoke('export.predict', { model: { runId }, images: pending.flatMap((item) => (item.source ? [item.source] : [])) });
      if (this.runId !== runId) return;
      this.model = response.model;
      this.error = null;
      // Uploads answer with their upload id; paths with their path.
      const answerOf = (item: TryItem): ExportPrediction | undefined => {
        const source = item.source;
        if (!source) return undefined;
        return 'uploadId' in source
          ? response.results.find((result) => result.uploadId === source.uploadId)
          : response.results.find((result) => result.path === source.path);
      };
      const answers = new Map(pending.map((item) => [item.key, answerOf(item)]));
      this.items = this.items.map((item) => {
        const answer = answers.get(item.key);
        if (!answer) return item;
        return answer.ok ? { ...item, result: answer, error: null } : { ...item, result: null, error: answer.error };
      });
    } catch (error) {
      this.error = messageOf(error);
    } finally {
      this.predicting = false;
    }
    if (this.again) {
      this.again = false;
      await this.predictAll();
    }
  }

  /**
   * A wrong answer, given its right class (one key in the card): an image of the run's dataset (a path under its
   * folder, or a photo from elsewhere with the same bytes) is relabelled there at once; any other photo (an upload,
   * another folder) is copied into the dataset under that class (datasets.addImages). The card offers Undo for both.
   */
  async addWithLabel(key: string, className: string): Promise<void> {
    const item = this.items.find((candidate) => candidate.key === key);
    const run = this.run;
    if (!item || !run || run.datasetId === null || !item.source) return;
    await this.adder.add(key, run.datasetId, className, item.source);
  }

  /** Takes back a photo this card copied into the dataset. */
  async undoAdd(key: string): Promise<void> {
    await this.adder.undo(key);
  }

  /** What "add with its right label" did for this card, or null. */
  addedOf(key: string): AddedPhoto | null {
    return this.adder.of(key);
  }
}

/**
 * The one logic behind a Try it card's "add with its right label" and its Undo, for both panels (beside training and
 * in Export): one add per card at a time, a second class only after Undo, and the words the card shows.
 */
export class PhotoAdder {
  /** Per card key: the words to show, whether it landed in the dataset, what Undo takes back. */
  added = $state<Record<string, AddedPhoto>>({});
  /** Numbers each add, so an answer arriving after its card was cleared is not shown on whatever the card is now. */
  private attempts = 0;

  of(key: string): AddedPhoto | null {
    return this.added[key] ?? null;
  }

  private set(key: string, added: AddedPhoto | null): void {
    const next = { ...this.added };
    if (added === null) delete next[key];
    else next[key] = added;
    this.added = next;
  }

  /** Gives the card's photo this class in the dataset (relabel or copy, addPhotoToDataset). */
  async add(key: string, datasetId: number, className: string, source: ImageSource): Promise<void> {
    const earlier = this.of(key);
    // A second key on the same card while the first is under way would copy the photo twice.
    if (earlier?.text === ADDING) return;
    if (earlier && canUndo(earlier)) {
      this.set(key, { ...earlier, text: `Already ${earlier.imageIds.length > 0 ? 'added' : 'relabelled'} as ${earlier.className}: Undo first to give it another class.` });
      return;
    }
    const attempt = ++this.attempts;
    this.set(key, { className, text: ADDING, done: false, imageIds: [], relabelled: [], datasetId, attempt });
    const result = await addPhotoToDataset(datasetId, className, source);
    // The card may have been cleared (another model chosen) or removed meanwhile: its answer belongs to no card now.
    if (this.of(key)?.attempt === attempt) this.set(key, result);
  }

  /** Takes back what the card did (the copy it added, or the label it changed); the card forgets it (or says why not). */
  async undo(key: string): Promise<void> {
    const earlier = this.of(key);
    if (!earlier || !canUndo(earlier)) return;
    if (earlier.relabelled.length > 0) {
      const text = await restoreLabels(earlier.datasetId, earlier.relabelled);
      this.set(key, text === null ? null : { ...earlier, text });
      return;
    }
    const undone = await removeAddedPhotos(earlier.datasetId, earlier.imageIds);
    this.set(key, undone.text === null ? null : { ...earlier, text: undone.text, ...(undone.removed ? { done: false, imageIds: [] } : {}) });
  }

  forget(key: string): void {
    if (key in this.added) this.set(key, null);
  }

  clear(): void {
    this.added = {};
  }
}

/** The words a card shows while its add is under way. */
export const ADDING = 'Adding…';

/** The catalogue id of a dataset image by its path under the dataset's folder (one lookup, not a walk through its pages). */
async function findImage(datasetId: number, relPath: string): Promise<number | null> {
  return (await transport.invoke('images.byPath', { datasetId, relPath })).imageId;
}

export interface AddedPhoto {
  className: string;
  text: string;
  /** In the dataset now (relabelled or copied). */
  done: boolean;
  /** Copies datasets.addImages made (Undo takes them back); empty for a relabelled dataset photo. */
  imageIds: number[];
  /** The label change of a photo already in the dataset, relabelled in place (Undo gives it its class back). */
  relabelled: LabelChange[];
  datasetId: number;
  /** Set while an add is under way: which one (PhotoAdder numbers them). */
  attempt?: number;
}

/** Whether the card's Undo has something to take back (a copy, or a label it changed). */
export function canUndo(added: AddedPhoto): boolean {
  return added.done && (added.imageIds.length > 0 || added.relabelled.length > 0);
}

/** The dataset's photo with these bytes (a Try it photo from outside its folder may be one of them), or null. */
async function findByContent(datasetId: number, source: ImageSource): Promise<{ imageId: number; relPath: string; className: string | null } | null> {
  try {
    return (await transport.invoke('export.findInDataset', { datasetId, image: source })).image;
  } catch {
    // An unreadable file or a lost upload: the add below says why in its own words.
    return null;
  }
}

/**
 * Gives a Try it photo its right class in the dataset (Train view, run page, Export). A photo the dataset already holds
 * (in its folder, or the same bytes from elsewhere) is relabelled in place through the dataset store, and the card's
 * Undo gives it its class back; one that has the class already is left as it is. Any other photo is copied in
 * under the class's folder. Answers the words for the card.
 */
export async function addPhotoToDataset(datasetId: number, className: string, source: ImageSource): Promise<AddedPhoto> {
  const dataset = datasetStore.datasets.find((d) => d.id === datasetId);
  const target = dataset?.classes.find((c) => c.name === className);
  const answer = (text: string, done: boolean, imageIds: number[] = [], relabelled: LabelChange[] = []): AddedPhoto => ({
    className, text, done, imageIds, relabelled, datasetId,
  });
  if (!dataset || !target) return answer(`The dataset has no class "${className}" any more.`, false);
  /** A photo the dataset already holds gets the class in place (undoable), or is left alone when it has it already. */
  const relabelInPlace = async (found: { imageId: number; relPath: string; className: string | null }, twin: boolean): Promise<AddedPhoto> => {
    if (found.className === className) return answer(`Already in ${dataset.name} as ${className} (${found.relPath}): nothing to change.`, true);
    // The server's datasets.changed refreshes this dataset's counts in the dataset store: no refresh here.
    const changes = await datasetStore.relabel(dataset.id, [found.imageId], target.id);
    if (changes === null) return answer('Not added: the catalogue refused the label (see the message above).', false);
    const was = found.className === null ? 'unlabelled' : found.className;
    const text = twin
      ? `Already in ${dataset.name} as ${found.relPath}: relabelled from ${was} to ${className} (used by the next run).`
      : `Labelled ${className} in ${dataset.name} (used by the next run).`;
    return answer(text, true, [], changes);
  };
  try {
    const rel = 'path' in source ? relativeTo(dataset.rootPath, source.path) : null;
    if (rel !== null) {
      const imageId = await findImage(dataset.id, rel);
      if (imageId === null) return answer(`Not added: ${rel} is in ${dataset.name}'s folder but not imported yet: Re-import the dataset, then try again.`, false);
      const classId = await imageClass(imageId);
      const current = dataset.classes.find((c) => c.id === classId)?.name ?? null;
      return await relabelInPlace({ imageId, relPath: rel, className: current }, false);
    }
    if ('uploadId' in source && !source.name) return answer('Not added: the upload has no file name; add the photo again.', false);
    // The same photo already in the dataset (under another name, or from elsewhere): relabelled there, not copied again.
    const twin = await findByContent(dataset.id, source);
    if (twin) return await relabelInPlace(twin, true);
    const image = 'path' in source ? { path: source.path } : { uploadId: source.uploadId, name: source.name! };
    const added = await transport.invoke('datasets.addImages', { datasetId: dataset.id, classId: target.id, images: [image] });
    return answer(added.message, true, added.added.map((photo) => photo.imageId));
  } catch (error) {
    return answer(`Not added: ${messageOf(error)}`, false);
  }
}

/** The class id of a dataset image now. */
async function imageClass(imageId: number): Promise<number | null> {
  return (await transport.invoke('images.detail', { imageId })).classId;
}

/**
 * Undoes addPhotoToDataset's relabel: each photo gets its class back, through the dataset store (the one writer of
 * labels). Words for the card, null when there is nothing to say.
 */
async function restoreLabels(datasetId: number, changes: LabelChange[]): Promise<string | null> {
  // Only labels still as the card left them: a relabel made since (in the Label view, say) is the user's later word.
  const current: LabelChange[] = [];
  try {
    for (const change of changes) if ((await imageClass(change.imageId)) === change.after) current.push(change);
  } catch (error) {
    return `Not undone: ${messageOf(error)}`;
  }
  if (current.length === 0) return 'Not undone: the photo was relabelled since; change it in the Label view.';
  // The dataset store restores each label's source too, and reports a refusal itself.
  return (await datasetStore.restore(datasetId, current)) ? null : 'Undo failed (see the message above).';
}

/** Undoes addPhotoToDataset's copy: whether it was taken back, and words for the card (null: nothing left to say). */
export async function removeAddedPhotos(datasetId: number, imageIds: number[]): Promise<{ removed: boolean; text: string | null }> {
  try {
    const undone = await transport.invoke('datasets.removeAddedImages', { datasetId, imageIds });
    const kept = undone.kept.length > 0 ? `Removed from the dataset; ${undone.kept.join(', ')} was changed since, so the file stays in the folder.` : null;
    return { removed: true, text: kept };
  } catch (error) {
    return { removed: false, text: `Undo failed: ${messageOf(error)}` };
  }
}

export const tryItStore = new TryItStore();
