import { transport } from '../lib/transport';
import { appStore } from './app.svelte';
import { runsStore } from './runs.svelte';
import { jobsStore } from './jobs.svelte';
import { PhotoAdder } from './try-it.svelte';
import { MAX_UPLOAD_BYTES } from '../../../shared/contract/index';
import type {
  ExportFormat, ExportModelInfo, ExportPrediction, ExportResult, ExportTarget, ModelSource, RunSummary,
} from '../../../shared/contract/index';

export interface TryImage {
  /** Local key (also the upload id once uploaded). */
  key: string;
  name: string;
  /** blob: URL of the user's own copy, for the thumbnail (nothing is served back). */
  previewUrl: string;
  uploadId: string | null;
  /** The name the upload stored it under (sanitised, maybe suffixed): what datasets.addImages copies it as. */
  uploadName: string | null;
  result: ExportPrediction | null;
  error: string | null;
}

const IMAGE_TYPES = /^image\//;
const IMAGE_NAMES = /\.(jpe?g|png|webp|gif|tiff?|avif|bmp|heic|heif)$/i;

/** Base64 of a file's bytes, for export.upload (both hosts take files this way). */
async function toBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Export and "Try it" state; the only place the Export view reaches the services. The runs come from the runs store. */
class ExportStore {
  selectedRunId = $state<number | null>(null);
  /** tfjs (model.json + classify.js), tm (Teachable Machine's library) or onnx (model.onnx). */
  target = $state<ExportTarget>('tfjs');
  format = $state<ExportFormat>('zip');
  /** Optional target typed by the user; empty = the data folder's exports/. */
  outPath = $state('');
  overwrite = $state(false);
  exporting = $state(false);
  /** The run being exported (its export job carries the progress). */
  private exportingRunId = $state<number | null>(null);
  lastExport = $state<ExportResult | null>(null);
  exportError = $state<string | null>(null);

  modelMode = $state<'run' | 'file'>('run');
  tryRunId = $state<number | null>(null);
  modelUpload = $state<{ uploadId: string; files: string[] } | null>(null);
  modelInfo = $state<ExportModelInfo | null>(null);
  modelError = $state<string | null>(null);
  uploadingModel = $state(false);
  images = $state<TryImage[]>([]);
  predicting = $state(false);
  /** "Add with its right label" on a card: the same logic as Try it beside training. */
  readonly adder = new PhotoAdder();
  /** Images being uploaded (a dropped folder can be many). */
  uploadingImages = $state<{ done: number; total: number } | null>(null);
  private predictAgain = false;

  constructor() {
    // A finished run becomes exportable: the runs store refreshes on it, and the choices follow its list.
    runsStore.onRefreshed(() => void this.keepChoices(false));
  }

  /** The export under way: its job's phase (packaging, verifying...) and count. */
  get progress(): { stage: string; done: number; total: number | null } | null {
    if (!this.exporting || this.exportingRunId === null) return null;
    const job = jobsStore.forRun(this.exportingRunId, 'export');
    const progress = job?.status === 'running' ? job.progress : null;
    return progress && progress.phase !== 'starting' ? { stage: progress.phase, done: progress.done, total: progress.total } : null;
  }

  /** Runs that have a saved model (completed, or cancelled after a checkpoint). */
  get exportableRuns(): RunSummary[] {
    return runsStore.exportableRuns;
  }

  get runsLoaded(): boolean {
    return runsStore.loaded;
  }

  get modelSource(): ModelSource | null {
    if (this.modelMode === 'run') return this.tryRunId === null ? null : { runId: this.tryRunId };
    return this.modelUpload ? { uploadId: this.modelUpload.uploadId } : null;
  }

  /** Fetches the runs (through the runs store) and re-inspects the model to try. */
  /** Desktop: reveals a written export or label file by its download id; answers the error message, or null. */
  async showInFolder(download: string): Promise<string | null> {
    try {
      await transport.invoke('system.showInFolder', { download });
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  }

  async refreshRuns(): Promise<void> {
    await runsStore.refresh();
    await this.keepChoices(true);
  }

  /** Keeps the export and "Try it" choices on runs that still exist; inspects the model when the choice changed. */
  private async keepChoices(inspect: boolean): Promise<void> {
    const ids = this.exportableRuns.map((run) => run.id);
    if (this.selectedRunId === null || !ids.includes(this.selectedRunId)) this.selectedRunId = ids[0] ?? null;
    const tryRunId = this.tryRunId;
    if (tryRunId === null || !ids.includes(tryRunId)) this.tryRunId = ids[0] ?? null;
    if (this.modelMode === 'run' && (inspect || this.tryRunId !== tryRunId)) await this.inspectModel();
  }

  async exportSelected(): Promise<void> {
    if (this.selectedRunId === null || this.exporting) return;
    this.exporting = true;
    this.exportingRunId = this.selectedRunId;
    this.exportError = null;
    this.lastExport = null;
    try {
      const out = this.outPath.trim();
      this.lastExport = await transport.invoke('export.run', {
        runId: this.selectedRunId, target: this.target, format: this.format, overwrite: this.overwrite, ...(out ? { out } : {}),
      });
    } catch (error) {
      // Shown beside the button: a failed verification is a result the user must see, not a passing toast.
      this.exportError = messageOf(error);
    } finally {
      this.exporting = false;
      this.exportingRunId = null;
    }
  }

  /** Predictions belong to a model: forget them when the model changes. */
  private forgetResults(): void {
    this.images = this.images.map((image) => (image.uploadId ? { ...image, result: null, error: null } : image));
    // What a card added belonged to the old model's dataset.
    this.adder.clear();
  }

  /** The run whose model Try it uses, when it is a run's (its dataset takes a wrong answer's right label). */
  get tryRun(): RunSummary | null {
    return this.modelMode === 'run' ? (this.exportableRuns.find((run) => run.id === this.tryRunId) ?? null) : null;
  }

  async useRun(runId: number | null): Promise<void> {
    this.modelMode = 'run';
    this.tryRunId = runId;
    this.forgetResults();
    await this.inspectModel();
    await this.predictAll();
  }

  /** A Pawprint export (.zip) or Teachable Machine's files (model.json, weights.bin, metadata.json), or a zip of them. */
  async setModelFiles(files: File[]): Promise<void> {
    if (files.length === 0) return;
    this.modelMode = 'file';
    this.forgetResults();
    this.uploadingModel = true;
    this.modelError = null;
    this.modelInfo = null;
    try {
      const tooBig = files.find((file) => file.size > MAX_UPLOAD_BYTES);
      if (tooBig) throw new Error(`${tooBig.name} is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB.`);
      if (this.modelUpload) void transport.invoke('export.discardUpload', { uploadId: this.modelUpload.uploadId }).catch(() => undefined);
      let uploadId: string | undefined;
      let stored: string[] = [];
      for (const file of files) {
        const result = await transport.invoke('export.upload', { name: file.name, data: await toBase64(file), ...(uploadId ? { uploadId } : {}) });
        uploadId = result.uploadId;
        stored = result.files;
      }
      this.modelUpload = { uploadId: uploadId!, files: stored };
      await this.inspectModel();
      await this.predictAll();
    } catch (error) {
      this.modelError = messageOf(error);
    } finally {
      this.uploadingModel = false;
    }
  }

  async inspectModel(): Promise<void> {
    const source = this.modelSource;
    this.modelInfo = null;
    this.modelError = null;
    if (!source) return;
    try {
      this.modelInfo = await transport.invoke('export.inspect', { model: source });
    } catch (error) {
      this.modelError = messageOf(error);
    }
  }

  async addImages(files: File[]): Promise<void> {
    const accepted = files.filter((file) => IMAGE_TYPES.test(file.type) || IMAGE_NAMES.test(file.name));
    if (accepted.length === 0) {
      appStore.report(new Error('None of the dropped files is an image (jpg, png, webp, gif, tiff, avif, bmp).'));
      return;
    }
    const added: TryImage[] = [];
    this.uploadingImages = { done: 0, total: accepted.length };
    for (const file of accepted) {
      const entry: TryImage = { key: `local-${crypto.randomUUID()}`, name: file.name, previewUrl: URL.createObjectURL(file), uploadId: null, uploadName: null, result: null, error: null };
      if (file.size > MAX_UPLOAD_BYTES) {
        entry.error = `larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`;
      } else {
        try {
          const result = await transport.invoke('export.upload', { name: file.name, data: await toBase64(file) });
          entry.uploadId = result.uploadId;
          entry.uploadName = result.name;
        } catch (error) {
          entry.error = messageOf(error);
        }
      }
      added.push(entry);
      this.uploadingImages = { done: added.length, total: accepted.length };
    }
    this.uploadingImages = null;
    this.images = [...added, ...this.images];
    await this.predictAll();
  }

  async predictAll(): Promise<void> {
    const source = this.modelSource;
    const pending = this.images.filter((image) => image.uploadId !== null);
    if (!source || pending.length === 0) return;
    if (this.predicting) {
      // New images or another model arrived mid-request: predict again once this one is done.
      this.predictAgain = true;
      return;
    }
    this.predicting = true;
    try {
      // The contract takes at most 1000 sources per request; results appear chunk by chunk.
      for (let start = 0; start < pending.length; start += 200) {
        const chunk = pending.slice(start, start + 200);
        const response = await transport.invoke('export.predict', { model: source, images: chunk.map((image) => ({ uploadId: image.uploadId! })) });
        this.modelInfo = response.model;
        this.modelError = null;
        const byUpload = new Map(response.results.map((result) => [result.uploadId, result]));
        this.images = this.images.map((image) => {
          const result = image.uploadId ? byUpload.get(image.uploadId) : undefined;
          return result ? { ...image, result, error: result.ok ? null : result.error } : image;
        });
      }
    } catch (error) {
      this.modelError = messageOf(error);
    } finally {
      this.predicting = false;
    }
    if (this.predictAgain) {
      this.predictAgain = false;
      await this.predictAll();
    }
  }

  clearImages(): void {
    for (const image of this.images) {
      URL.revokeObjectURL(image.previewUrl);
      if (image.uploadId) void transport.invoke('export.discardUpload', { uploadId: image.uploadId }).catch(() => undefined);
    }
    this.images = [];
    this.adder.clear();
  }
}

export const exportStore = new ExportStore();
