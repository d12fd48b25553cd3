import { transport } from '../lib/transport';
import { appStore } from './app.svelte';
import { datasetStore } from './datasets.svelte';
import { jobsStore } from './jobs.svelte';
import type { ExcludedImage, HealthDuplicateGroup, HealthLabelIssue, HealthReport, HealthSuggestions, JobInfo, LabelChange } from '../../../shared/contract/index';

/** One undoable fix made in the Health view. */
export type HealthFix =
  | { kind: 'label'; datasetId: number; changes: LabelChange[]; text: string }
  | { kind: 'exclude'; datasetId: number; imageIds: number[]; text: string };

const UNDO_LIMIT = 100;

/**
 * The Health view's data (issue 15): the newest health report of the dataset on screen (with its stale flag), the
 * health job that checks it, and the fixes made from the galleries (relabel, exclude) with undo. Labels are written
 * through the dataset store (the only writer of labels); jobs through the jobs store; health.* is asked here only.
 */
class HealthStore {
  // Raw: a report is replaced whole, never edited, and deep proxies over 20,000 map points cost seconds per pass.
  report = $state.raw<HealthReport | null>(null);
  /** The dataset the report (or its absence) belongs to; null before the first load. */
  loadedFor = $state<number | null>(null);
  excluded = $state<ExcludedImage[]>([]);
  busy = $state(false);
  undoStack = $state<HealthFix[]>([]);
  /** Words for the last fix or undo, for the status line. */
  lastFix = $state<string | null>(null);

  /** The Label view's suggested labels for unlabelled images (model-assisted labelling), least certain first. */
  suggestions = $state.raw<(HealthSuggestions & { datasetId: number }) | null>(null);

  private reloadTimer: ReturnType<typeof setTimeout> | null = null;
  private suggestionsTimer: ReturnType<typeof setTimeout> | null = null;

  constructor() {
    jobsStore.onChange((job, change) => {
      if (job.kind === 'health' && change === 'finished' && job.datasetId === datasetStore.currentId) {
        void this.load();
        void this.loadSuggestions();
      }
    });
    // A relabel or exclusion anywhere (Label view, CLI) can make the report stale: read it again.
    transport.subscribe('datasets.changed', ({ datasetId }) => {
      // A label set anywhere changes which images are unlabelled.
      if (datasetId === this.suggestions?.datasetId) {
        if (this.suggestionsTimer) clearTimeout(this.suggestionsTimer);
        this.suggestionsTimer = setTimeout(() => void this.loadSuggestions(), 150);
      }
      if (datasetId !== this.loadedFor) return;
      if (this.reloadTimer) clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => void this.load(), 150);
    });
  }

  get datasetId(): number | null {
    return datasetStore.currentId;
  }

  /** The health job of the dataset on screen while it is queued or running. */
  get job(): JobInfo | undefined {
    return jobsStore.byKind('health').find((job) => job.datasetId === this.datasetId && (job.status === 'queued' || job.status === 'running'));
  }

  /** The newest health job of the dataset when it failed (its error is shown until the next run). */
  get failedJob(): JobInfo | undefined {
    const newest = jobsStore.byKind('health').filter((job) => job.datasetId === this.datasetId).sort((a, b) => b.id - a.id)[0];
    return newest?.status === 'failed' ? newest : undefined;
  }

  /** Suspected mislabels whose label no longer is the one the report was computed with (fixed since). */
  get fixedIssues(): number {
    return this.report?.labelIssues.filter((issue) => issue.image.label !== issue.given).length ?? 0;
  }

  async load(): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null) {
      this.report = null;
      this.excluded = [];
      this.loadedFor = null;
      return;
    }
    try {
      const [{ report }, { images }] = await Promise.all([
        transport.invoke('health.latest', { datasetId }),
        transport.invoke('health.excluded', { datasetId }),
      ]);
      if (datasetId !== this.datasetId) return; // the user moved on while it loaded
      if (this.loadedFor !== datasetId) this.undoStack = [];
      this.report = report;
      this.excluded = images;
      this.loadedFor = datasetId;
    } catch (error) {
      appStore.report(error);
    }
  }

  async loadSuggestions(): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null) {
      this.suggestions = null;
      return;
    }
    try {
      const answer = await transport.invoke('health.suggestions', { datasetId });
      if (datasetId === this.datasetId) this.suggestions = { ...answer, datasetId };
    } catch (error) {
      appStore.report(error);
    }
  }

  async run(): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null) return;
    await jobsStore.start({ kind: 'health', input: { datasetId } });
  }

  async cancel(): Promise<void> {
    const job = this.job;
    if (job) await jobsStore.cancel(job.id);
  }

  classIdOf(name: string): number | undefined {
    return datasetStore.classes.find((cls) => cls.name === name)?.id;
  }

  /** Labels images (null = unlabel) as a person's decision; undoable here. */
  async setLabel(imageIds: number[], classId: number | null, text: string): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null || imageIds.length === 0) return;
    await this.step(async () => {
      const changes = await datasetStore.relabel(datasetId, imageIds, classId);
      if (changes && changes.length > 0) this.remember({ kind: 'label', datasetId, changes, text });
    });
  }

  /** The one-key fix of a suspected mislabel: its label becomes the suggested class. */
  async acceptSuggestion(issue: HealthLabelIssue): Promise<void> {
    const classId = this.classIdOf(issue.suggested);
    if (classId === undefined) {
      appStore.report(new Error(`Class "${issue.suggested}" no longer exists in this dataset; run the health check again.`));
      return;
    }
    await this.setLabel([issue.image.imageId], classId, `${issue.image.relPath}: ${issue.image.label ?? 'unlabelled'} → ${issue.suggested}`);
  }

  /** Drops images from the dataset (files untouched); undoable here, and listed under Excluded. */
  async exclude(imageIds: number[], reason: string): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null || imageIds.length === 0) return;
    await this.step(async () => {
      const { excluded } = await transport.invoke('health.exclude', { datasetId, imageIds, reason });
      if (excluded > 0) this.remember({ kind: 'exclude', datasetId, imageIds, text: `excluded ${excluded} image${excluded === 1 ? '' : 's'} (${reason})` });
    });
  }

  /** Keeps one image of a near-duplicate group and drops the others from the dataset. */
  async keepOnly(group: HealthDuplicateGroup, keepImageId: number): Promise<void> {
    const keep = group.images.find((image) => image.imageId === keepImageId);
    if (!keep) return;
    await this.exclude(group.images.filter((image) => image.imageId !== keepImageId).map((image) => image.imageId), `near-duplicate of ${keep.relPath}`);
  }

  async include(imageIds: number[]): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null || imageIds.length === 0) return;
    await this.step(async () => {
      const { included } = await transport.invoke('health.include', { datasetId, imageIds });
      this.lastFix = `included ${included} image${included === 1 ? '' : 's'} again`;
    });
  }

  async undo(): Promise<void> {
    const fix = this.undoStack.at(-1);
    if (!fix) return;
    await this.step(async () => {
      if (fix.kind === 'exclude') {
        await transport.invoke('health.include', { datasetId: fix.datasetId, imageIds: fix.imageIds });
      } else {
        // Each image gets back its own earlier label: one request per earlier class.
        const befores = [...new Set(fix.changes.map((change) => change.before))];
        for (const before of befores) {
          const imageIds = fix.changes.filter((change) => change.before === before).map((change) => change.imageId);
          if ((await datasetStore.relabel(fix.datasetId, imageIds, before)) === null) return;
        }
      }
      this.undoStack = this.undoStack.slice(0, -1);
      this.lastFix = `undone: ${fix.text}`;
    });
  }

  private remember(fix: HealthFix): void {
    this.undoStack = [...this.undoStack.slice(-(UNDO_LIMIT - 1)), fix];
    this.lastFix = fix.text;
  }

  /** One fix at a time, then the report read again (current labels, excluded images gone, stale flag). */
  private async step(action: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await action();
    } catch (error) {
      appStore.report(error);
    } finally {
      this.busy = false;
    }
    await this.load();
  }
}

export const healthStore = new HealthStore();
