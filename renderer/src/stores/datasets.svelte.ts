import { SvelteSet } from 'svelte/reactivity';
import { transport } from '../lib/transport';
import { appStore } from './app.svelte';
import { jobsStore } from './jobs.svelte';
import type {
  ClassInfo,
  DatasetSummary,
  DirectoryListing,
  ImageDetail,
  ImageFilter,
  ImageItem,
  ImportSummary,
  LabelChange,
  SplitInfo,
} from '../../../shared/contract/index';

const PAGE = 200;
const UNDO_LIMIT = 200;
/** Page requests in flight at once: a fast scroll over 100,000 images queues the rest, and drops those it passed. */
const MAX_IN_FLIGHT = 3;
/** Pages kept beyond the ones in view (about 10,000 rows); the farthest go first. */
const KEEP_PAGES = 50;

/** An import's bar: its job's latest progress in the words the Dataset view shows. */
export interface ImportBar {
  phase: string;
  scanned: number;
  processed: number;
  total: number;
  rejected: number;
  duplicates: number;
  imagesPerSecond: number;
  etaSeconds: number | null;
}

export type GridFilter = {
  classId?: number;
  subset?: 'train' | 'val' | 'test';
  unlabelled?: boolean;
  status: 'ok' | 'rejected' | 'duplicate' | 'missing' | 'excluded' | 'all';
};

/**
 * Datasets, the image grid (paged on demand: only pages near the visible rows are fetched), selection, labelling
 * with undo/redo, imports and the tutorial download. The only renderer code that talks to the datasets domain.
 */
class DatasetStore {
  datasets = $state<DatasetSummary[]>([]);
  loaded = $state(false);
  currentId = $state<number | null>(null);
  current = $derived(this.datasets.find((dataset) => dataset.id === this.currentId) ?? null);
  classes = $derived<ClassInfo[]>(this.current?.classes ?? []);

  lastImport = $state<ImportSummary | null>(null);
  downloadError = $state<string | null>(null);

  filter = $state<GridFilter>({ status: 'ok' });
  total = $state(0);
  /** Page index → rows; replaced wholesale so the grid re-renders. */
  pages = $state<Record<number, ImageItem[]>>({});
  gridVersion = $state(0);
  focusIndex = $state(0);
  selected = new SvelteSet<number>();
  anchorIndex = $state<number | null>(null);
  detail = $state<ImageDetail | null>(null);
  sample = $state<Array<{ classId: number; className: string; imageIds: number[] }>>([]);
  sampleSeed = $state(0);
  splits = $state<SplitInfo[]>([]);

  undoStack = $state<LabelChange[][]>([]);
  redoStack = $state<LabelChange[][]>([]);
  busy = $state(false);

  private loading = new Map<number, Promise<void>>();
  /** Pages the grid wants that wait for a request slot, with how to settle whoever awaits them. */
  private queued = new Map<number, { settle: () => void; promise: Promise<void> }>();
  private inFlight = 0;
  /** The pages the grid shows now (with a margin); a queued page outside it is dropped, an answer outside it is not kept. */
  private wanted = { first: 0, last: 0 };
  /** Whether this grid version has asked for its total (once per filter change: counting walks the whole index). */
  private totalAsked = false;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private changedIds = new Set<number>();

  constructor() {
    jobsStore.onChange((job, change, finished) => {
      if (change !== 'finished' || !finished) return;
      if (finished.kind === 'import' && finished.result) {
        const summary = finished.result;
        this.lastImport = summary;
        void this.refresh().then(() => {
          if (this.currentId === null || this.currentId === summary.datasetId) this.select(summary.datasetId);
        });
      } else if (finished.kind === 'download' && finished.status === 'failed') {
        this.downloadError = finished.error ?? 'The download failed.';
      }
    });
    transport.subscribe('datasets.changed', ({ datasetId }) => this.scheduleRefresh(datasetId));
    transport.onStateChange((state) => {
      if (state === 'open') void this.refresh();
    });
    void this.refresh();
  }

  // ---- datasets ------------------------------------------------------------------------------------------------

  async refresh(): Promise<void> {
    try {
      this.datasets = await transport.invoke('datasets.list', {});
      this.loaded = true;
      if (this.currentId !== null && !this.datasets.some((dataset) => dataset.id === this.currentId)) this.currentId = null;
      if (this.currentId === null && this.datasets.length > 0) this.select(this.datasets.at(-1)!.id);
    } catch (error) {
      appStore.report(error);
    }
  }

  /** After a change only the changed datasets' summaries are fetched again (each counts 100,000 rows at scale), not all. */
  private scheduleRefresh(datasetId: number): void {
    this.changedIds.add(datasetId);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      const ids = [...this.changedIds];
      this.changedIds.clear();
      void this.refreshSome(ids);
    }, 150);
  }

  private async refreshSome(ids: number[]): Promise<void> {
    // A new or deleted dataset changes the list itself: fetch it whole.
    if (ids.some((id) => !this.datasets.some((dataset) => dataset.id === id))) return this.refresh();
    try {
      const fresh = await Promise.all(ids.map((datasetId) => transport.invoke('datasets.get', { datasetId })));
      this.datasets = this.datasets.map((dataset) => fresh.find((summary) => summary.id === dataset.id) ?? dataset);
    } catch {
      await this.refresh();
    }
  }

  select(datasetId: number): void {
    if (this.currentId !== datasetId) {
      this.currentId = datasetId;
      this.filter = { status: 'ok' };
      this.undoStack = [];
      this.redoStack = [];
      this.detail = null;
    }
    this.reloadGrid();
    void this.loadSample();
    void this.loadSplits();
  }

  async rename(name: string): Promise<void> {
    if (this.currentId === null) return;
    await this.run(() => transport.invoke('datasets.rename', { datasetId: this.currentId!, name }));
    await this.refresh();
  }

  async remove(): Promise<void> {
    if (this.currentId === null) return;
    const id = this.currentId;
    await this.run(() => transport.invoke('datasets.delete', { datasetId: id }));
    this.currentId = null;
    await this.refresh();
  }

  // ---- import and download (jobs: whoever started them, the CLI included) ---------------------------------------

  /** The import under way, if any, with its bar (null until its first report). */
  get importing(): { jobId: number; datasetId: number | null; progress: ImportBar | null } | null {
    const job = jobsStore.activeOf('import');
    if (!job) return null;
    const progress = job.progress && job.progress.phase !== 'queued' && job.progress.phase !== 'starting' ? job.progress : null;
    const figures = jobsStore.importFigures(job);
    return {
      jobId: job.id,
      datasetId: job.datasetId,
      progress: progress && {
        phase: progress.phase, processed: progress.done, total: progress.total ?? 0, etaSeconds: progress.etaSeconds,
        scanned: figures?.scanned ?? 0, rejected: figures?.rejected ?? 0, duplicates: figures?.duplicates ?? 0, imagesPerSecond: figures?.imagesPerSecond ?? 0,
      },
    };
  }

  /** The tutorial download under way: bytes received of the archive, then the extraction. */
  get download(): { jobId: number; progress: { phase: string; received: number; total: number | null } | null } | null {
    const job = jobsStore.activeOf('download');
    if (!job) return null;
    const progress = job.progress && job.progress.phase !== 'queued' && job.progress.phase !== 'starting' ? job.progress : null;
    return { jobId: job.id, progress: progress && { phase: progress.phase, received: progress.done, total: progress.total } };
  }

  async startImport(path: string, name?: string): Promise<void> {
    this.lastImport = null;
    await jobsStore.start({ kind: 'import', input: { path, ...(name ? { name } : {}) } });
  }

  async cancelImport(): Promise<void> {
    const importing = this.importing;
    if (importing) await jobsStore.cancel(importing.jobId);
  }

  async reimport(): Promise<void> {
    if (!this.current) return;
    await this.startImport(this.current.rootPath);
  }

  async downloadTutorial(): Promise<void> {
    this.downloadError = null;
    await jobsStore.start({ kind: 'download', input: { dataset: 'tutorial' } });
  }

  async cancelDownload(): Promise<void> {
    const download = this.download;
    if (download) await jobsStore.cancel(download.jobId);
  }

  async listDirectory(path?: string): Promise<DirectoryListing | null> {
    try {
      return await transport.invoke('system.listDirectory', path ? { path } : {});
    } catch (error) {
      appStore.report(error);
      return null;
    }
  }

  async pickFolder(): Promise<string | null> {
    try {
      return await transport.invoke('system.pickFolder', { title: 'Choose a folder of photos' });
    } catch (error) {
      appStore.report(error);
      return null;
    }
  }

  // ---- grid ------------------------------------------------------------------------------------------------------

  setFilter(filter: GridFilter): void {
    this.filter = filter;
    this.focusIndex = 0;
    this.anchorIndex = null;
    this.selected.clear();
    this.reloadGrid();
  }

  private apiFilter(): ImageFilter {
    const { classId, subset, unlabelled, status } = this.filter;
    return { status, ...(classId !== undefined ? { classId } : {}), ...(subset ? { subset } : {}), ...(unlabelled ? { unlabelled } : {}) };
  }

  reloadGrid(): void {
    this.pages = {};
    this.loading.clear();
    for (const { settle } of this.queued.values()) settle();
    this.queued.clear();
    this.totalAsked = false;
    this.gridVersion++;
    this.wanted = { first: 0, last: 0 };
    void this.loadPage(0);
  }

  itemAt(index: number): ImageItem | undefined {
    return this.pages[Math.floor(index / PAGE)]?.[index % PAGE];
  }

  /** Makes sure rows [start, end) are loaded (or loading); the grid calls this for its visible window. */
  ensureRange(start: number, end: number): void {
    const first = Math.floor(Math.max(0, start) / PAGE);
    const last = Math.floor(Math.max(0, Math.min(end, this.total) - 1) / PAGE);
    this.wanted = { first, last };
    // Pages queued for rows the user has scrolled past are dropped before they cost a request.
    for (const [page, { settle }] of this.queued) {
      if (!this.isWanted(page)) {
        this.queued.delete(page);
        settle();
      }
    }
    for (let page = first; page <= last; page++) void this.loadPage(page, true);
  }

  private isWanted(page: number): boolean {
    return page >= this.wanted.first - 1 && page <= this.wanted.last + 1;
  }

  /**
   * Loads one page. The grid's own requests (`scrolling`) wait for one of MAX_IN_FLIGHT slots and give up if the
   * page leaves the view first; a page the keyboard or a selection needs goes at once.
   */
  private loadPage(page: number, scrolling = false): Promise<void> {
    if (this.currentId === null) return Promise.resolve();
    if (this.pages[page]) return Promise.resolve();
    const pending = this.loading.get(page) ?? this.queued.get(page)?.promise;
    if (pending && (scrolling || this.loading.has(page))) return pending;
    if (scrolling && this.inFlight >= MAX_IN_FLIGHT) {
      let settle = () => {};
      const promise = new Promise<void>((resolve) => (settle = resolve));
      this.queued.set(page, { settle, promise });
      return promise;
    }
    const queued = this.queued.get(page);
    this.queued.delete(page);
    const promise = this.request(page, scrolling);
    if (queued) void promise.then(queued.settle);
    return promise;
  }

  private request(page: number, scrolling: boolean): Promise<void> {
    const version = this.gridVersion;
    const datasetId = this.currentId!;
    const withTotal = !this.totalAsked;
    this.totalAsked = true;
    this.inFlight++;
    const payload = { datasetId, filter: this.apiFilter(), offset: page * PAGE, limit: PAGE };
    const answer: Promise<{ total: number | null; items: ImageItem[] }> = withTotal
      ? transport.invoke('images.query', payload)
      : transport.invoke('images.page', payload).then((result) => ({ total: null, items: result.items }));
    const promise = answer
      .then((result) => {
        if (version !== this.gridVersion) return;
        if (result.total !== null) this.total = result.total;
        // An answer for rows scrolled past long ago is not kept (the grid asks again if it comes back).
        if (scrolling && !this.isWanted(page) && page !== 0) return;
        this.pages = this.trimmed({ ...this.pages, [page]: result.items }, page);
      })
      .catch((error: unknown) => {
        if (version === this.gridVersion && withTotal) this.totalAsked = false;
        appStore.report(error);
      })
      .finally(() => {
        this.inFlight--;
        if (version === this.gridVersion) this.loading.delete(page);
        this.nextQueued();
      });
    this.loading.set(page, promise);
    return promise;
  }

  private nextQueued(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queued.size > 0) {
      // Nearest to the view first.
      const middle = (this.wanted.first + this.wanted.last) / 2;
      const page = [...this.queued.keys()].sort((a, b) => Math.abs(a - middle) - Math.abs(b - middle))[0]!;
      const { settle } = this.queued.get(page)!;
      this.queued.delete(page);
      if (this.pages[page] || !this.isWanted(page)) {
        settle();
        continue;
      }
      void this.request(page, true).then(settle);
    }
  }

  /** Keeps memory flat over 100,000 rows: beyond KEEP_PAGES pages, those farthest from the view are let go (never `arrived`). */
  private trimmed(pages: Record<number, ImageItem[]>, arrived: number): Record<number, ImageItem[]> {
    const keys = Object.keys(pages).map(Number);
    if (keys.length <= KEEP_PAGES) return pages;
    const middle = (this.wanted.first + this.wanted.last) / 2;
    const keep = [arrived, ...keys.sort((a, b) => Math.abs(a - middle) - Math.abs(b - middle)).slice(0, KEEP_PAGES)];
    return Object.fromEntries(keep.map((key) => [key, pages[key]!]));
  }

  /** Loads the row at `index` if needed and returns it. */
  async fetchItem(index: number): Promise<ImageItem | undefined> {
    await this.loadPage(Math.floor(index / PAGE));
    return this.itemAt(index);
  }

  // ---- selection -----------------------------------------------------------------------------------------------

  /**
   * Plain click: focus and select one; ctrl/cmd: toggle; shift: range from the last anchor. A range reaching rows
   * whose pages are not loaded (the user scrolled far between the clicks) takes their ids from images.ids.
   */
  click(index: number, modifiers: { shift: boolean; toggle: boolean }): void {
    const item = this.itemAt(index);
    if (!item) return;
    if (modifiers.shift && this.anchorIndex !== null) {
      const [from, to] = this.anchorIndex < index ? [this.anchorIndex, index] : [index, this.anchorIndex];
      if (!modifiers.toggle) this.selected.clear();
      const loaded: number[] = [];
      for (let i = from; i <= to; i++) {
        const row = this.itemAt(i);
        if (!row) {
          void this.selectRange(from, to);
          break;
        }
        loaded.push(row.id);
      }
      for (const id of loaded) this.selected.add(id);
    } else if (modifiers.toggle) {
      if (this.selected.has(item.id)) this.selected.delete(item.id);
      else this.selected.add(item.id);
      this.anchorIndex = index;
    } else {
      this.selected.clear();
      this.selected.add(item.id);
      this.anchorIndex = index;
    }
    this.focusIndex = index;
    void this.loadDetail(item.id);
  }

  private async selectRange(from: number, to: number): Promise<void> {
    if (this.currentId === null) return;
    const version = this.gridVersion;
    try {
      const ids = await transport.invoke('images.ids', { datasetId: this.currentId, filter: this.apiFilter(), offset: from, limit: to - from + 1 });
      if (version === this.gridVersion) for (const id of ids) this.selected.add(id);
    } catch (error) {
      appStore.report(error);
    }
  }

  async moveFocus(delta: number, extend = false): Promise<void> {
    if (this.total === 0) return;
    const index = Math.min(this.total - 1, Math.max(0, this.focusIndex + delta));
    const item = await this.fetchItem(index);
    if (!item) return;
    this.focusIndex = index;
    if (extend) this.selected.add(item.id);
    else {
      this.selected.clear();
      this.selected.add(item.id);
      this.anchorIndex = index;
    }
    void this.loadDetail(item.id);
  }

  async selectAllFiltered(): Promise<void> {
    if (this.currentId === null) return;
    try {
      const ids = await transport.invoke('images.ids', { datasetId: this.currentId, filter: this.apiFilter() });
      this.selected.clear();
      for (const id of ids) this.selected.add(id);
    } catch (error) {
      appStore.report(error);
    }
  }

  clearSelection(): void {
    this.selected.clear();
  }

  /**
   * Focus the next unlabelled image after the focused one (wrapping). The catalogue finds it and its row in one
   * request (images.nextUnlabelled); only the page holding it is then loaded, not every page in between.
   */
  async nextUnlabelled(): Promise<boolean> {
    if (this.currentId === null || this.total === 0) return false;
    const datasetId = this.currentId;
    const version = this.gridVersion;
    try {
      const focused = await this.fetchItem(this.focusIndex);
      const next = await transport.invoke('images.nextUnlabelled', { datasetId, filter: this.apiFilter(), afterImageId: focused?.id ?? null });
      // The view changed while asking: its answer belongs to another grid.
      if (!next || version !== this.gridVersion) return false;
      this.focusIndex = next.index;
      this.selected.clear();
      this.selected.add(next.imageId);
      this.anchorIndex = next.index;
      void this.fetchItem(next.index);
      void this.loadDetail(next.imageId);
      return true;
    } catch (error) {
      appStore.report(error);
      return false;
    }
  }

  async loadDetail(imageId: number): Promise<void> {
    try {
      this.detail = await transport.invoke('images.detail', { imageId });
    } catch (error) {
      appStore.report(error);
    }
  }

  async loadSample(seed = this.sampleSeed): Promise<void> {
    if (this.currentId === null) return;
    this.sampleSeed = seed;
    try {
      this.sample = await transport.invoke('images.sample', { datasetId: this.currentId, perClass: 6, seed });
    } catch (error) {
      appStore.report(error);
    }
  }

  // ---- labels and undo -----------------------------------------------------------------------------------------

  /** Labels the selection (or the focused image when nothing is selected); every change is saved at once. */
  async assign(classId: number | null): Promise<void> {
    if (this.currentId === null) return;
    let ids = [...this.selected];
    if (ids.length === 0) {
      const focused = this.itemAt(this.focusIndex);
      if (!focused) return;
      ids = [focused.id];
    }
    const datasetId = this.currentId;
    await this.run(async () => {
      const { changes } = await transport.invoke('labels.assign', { datasetId, imageIds: ids, classId });
      this.recordChanges(changes);
    });
  }

  /**
   * Labels images of any dataset as a person's decision (the Evaluate gallery's relabel). When it is the dataset on
   * screen the grid shows the change and undo takes it back, as for a label set in the Label view. Returns the
   * changes, or null when the catalogue refused (reported to the user).
   */
  async relabel(datasetId: number, imageIds: number[], classId: number | null): Promise<LabelChange[] | null> {
    try {
      const { changes } = await transport.invoke('labels.assign', { datasetId, imageIds, classId });
      if (datasetId === this.currentId) this.recordChanges(changes);
      return changes;
    } catch (error) {
      appStore.report(error);
      return null;
    }
  }

  /**
   * Takes back label changes made through relabel() in any dataset (Try it's Undo), restoring each label's source too:
   * a folder label comes back as a folder label, so a re-import keeps following the folder. False when refused.
   */
  async restore(datasetId: number, changes: LabelChange[]): Promise<boolean> {
    try {
      await transport.invoke('labels.restore', { datasetId, labels: restoredLabels(changes) });
      if (datasetId === this.currentId) this.applyChanges(changes, 'before');
      return true;
    } catch (error) {
      appStore.report(error);
      return false;
    }
  }

  /** Shows new labels in the grid and makes them the newest undo step. */
  private recordChanges(changes: LabelChange[]): void {
    this.applyChanges(changes, 'after');
    if (changes.length === 0) return;
    this.undoStack = [...this.undoStack.slice(-(UNDO_LIMIT - 1)), changes];
    this.redoStack = [];
  }

  async undo(): Promise<void> {
    const changes = this.undoStack.at(-1);
    if (!changes || this.currentId === null) return;
    const datasetId = this.currentId;
    await this.run(async () => {
      await transport.invoke('labels.restore', { datasetId, labels: restoredLabels(changes) });
      this.applyChanges(changes, 'before');
      this.undoStack = this.undoStack.slice(0, -1);
      this.redoStack = [...this.redoStack, changes];
    });
  }

  async redo(): Promise<void> {
    const changes = this.redoStack.at(-1);
    if (!changes || this.currentId === null) return;
    const datasetId = this.currentId;
    await this.run(async () => {
      await transport.invoke('labels.set', { datasetId, labels: changes.map((change) => ({ imageId: change.imageId, classId: change.after })) });
      this.applyChanges(changes, 'after');
      this.redoStack = this.redoStack.slice(0, -1);
      this.undoStack = [...this.undoStack, changes];
    });
  }

  /** Updates loaded rows in place so the grid shows the new labels without refetching. */
  private applyChanges(changes: LabelChange[], side: 'before' | 'after'): void {
    if (changes.length === 0) return;
    // A new label is a person's ('manual'); an undone one shows the source it had before (a folder label stays one).
    const byId = new Map(changes.map((change) => {
      const classId = change[side];
      const source = classId === null ? null : side === 'before' ? change.beforeSource ?? 'manual' : 'manual';
      return [change.imageId, { classId, labelSource: source }] as const;
    }));
    const pages: Record<number, ImageItem[]> = {};
    for (const [key, items] of Object.entries(this.pages)) {
      pages[Number(key)] = items.map((item) => { const label = byId.get(item.id); return label ? { ...item, ...label } : item; });
    }
    this.pages = pages;
    if (this.detail && byId.has(this.detail.id)) void this.loadDetail(this.detail.id);
  }

  // ---- classes and splits ----------------------------------------------------------------------------------------

  async createClass(name: string, color?: string): Promise<void> {
    if (this.currentId === null) return;
    const datasetId = this.currentId;
    await this.run(() => transport.invoke('classes.create', { datasetId, name, ...(color ? { color } : {}) }));
    await this.refresh();
  }

  async renameClass(classId: number, name: string): Promise<void> {
    await this.run(() => transport.invoke('classes.rename', { classId, name }));
    await this.refresh();
  }

  async recolourClass(classId: number, color: string): Promise<void> {
    await this.run(() => transport.invoke('classes.recolour', { classId, color }));
    await this.refresh();
  }

  async deleteClass(classId: number): Promise<void> {
    await this.run(() => transport.invoke('classes.delete', { classId }));
    // Undo entries naming the deleted class can no longer be replayed.
    this.undoStack = [];
    this.redoStack = [];
    await this.refresh();
    this.reloadGrid();
  }

  async loadSplits(): Promise<void> {
    if (this.currentId === null) return;
    this.splits = await this.splitsFor(this.currentId);
  }

  /** The splits of any dataset (the Train and Augment views choose one); none when the catalogue refused (reported). */
  async splitsFor(datasetId: number): Promise<SplitInfo[]> {
    try {
      return await transport.invoke('splits.list', { datasetId });
    } catch (error) {
      appStore.report(error);
      return [];
    }
  }

  async createSplit(options: { preset: 'stratified' | 'tutorial'; train: number; val: number; test: number; seed: number }): Promise<void> {
    if (this.currentId === null) return;
    const datasetId = this.currentId;
    await this.run(() => transport.invoke('splits.create', { datasetId, ...options }));
    await this.refresh();
    await this.loadSplits();
    if (this.filter.subset) this.reloadGrid();
  }

  // ---- label export ------------------------------------------------------------------------------------------------

  exportMessage = $state<string | null>(null);
  /** Download id of the last label export (the browser host serves it at download/<id>; the desktop shows it in its folder). */
  exportDownload = $state<string | null>(null);

  async exportCsv(file: string): Promise<void> {
    if (this.currentId === null) return;
    const datasetId = this.currentId;
    this.exportMessage = null;
    this.exportDownload = null;
    await this.run(async () => {
      const result = await transport.invoke('labels.exportCsv', { datasetId, file });
      this.exportMessage = `Wrote ${result.rows} rows to ${result.file}`;
      this.exportDownload = result.download ?? null;
    });
  }

  async exportFolders(directory: string, link: boolean): Promise<void> {
    if (this.currentId === null) return;
    const datasetId = this.currentId;
    this.exportMessage = null;
    this.exportDownload = null;
    await this.run(async () => {
      const result = await transport.invoke('labels.exportFolders', { datasetId, directory, link });
      this.exportMessage = `${link ? 'Linked' : 'Copied'} ${result.files} images into ${result.directory}`;
      this.exportDownload = result.download ?? null;
    });
  }

  private async run(action: () => Promise<unknown>): Promise<void> {
    this.busy = true;
    try {
      await action();
    } catch (error) {
      appStore.report(error);
    } finally {
      this.busy = false;
    }
  }
}

export const datasetStore = new DatasetStore();

/**
 * What labels.restore needs to take changes back: each image's old class with the source it had, so undoing a change
 * to a folder label leaves a folder label, not a manual one (a change reported without a source was a person's).
 */
function restoredLabels(changes: LabelChange[]) {
  return changes.map((change) => ({ imageId: change.imageId, classId: change.before, source: change.beforeSource === undefined ? 'manual' as const : change.beforeSource }));
}
