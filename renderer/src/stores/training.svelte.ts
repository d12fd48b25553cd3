import { transport } from '../lib/transport';
import { appStore } from './app.svelte';
import { datasetStore } from './datasets.svelte';
import { appendLogLines, runsStore } from './runs.svelte';
import { jobsStore, type TrainFigures } from './jobs.svelte';
import { DEFAULT_PRESET, presetDefaults, type AugmentationConfig, type CustomLayer, type PresetName, type Preprocessing, type TrainingConfig } from '../../../shared/training-config';
import type {
  AugmentPreview, ConfigValidation, DatasetSummary, EpochMetrics, JobInfo, PresetInfo, RunDetail, RunLogLine, SplitInfo, ValidationIssue,
} from '../../../shared/contract/index';
import { RUN_LOG_KEEP } from '../../../shared/contract/training';

/**
 * Download size of the ImageNet alpha 1.00 backbone (Keras MobileNetV2(alpha=1, include_top=False): 2,257,984 float32
 * weights, about 9 MB). The presets answer describes only each preset's default (alpha 0.35) base, so the size of
 * the alternative is stated here until the backend reports it.
 */
export const ALPHA_ONE_DOWNLOAD_MB = 9;

/** What the Train form says about the MobileNetV2 base a config trains on. */
export interface BaseDescription {
  kind: 'bundled' | 'download' | 'chosen';
  /** How to name it: the bundled base's name, the download, or the chosen path. */
  name: string;
  /** The base's real alpha and parameter count when known (presets answer or a run's versions), else null. */
  alpha: number | null;
  parameters: number | null;
}

/** The worker's log line naming the base it loaded (electron/training/worker/transfer.ts). */
const BASE_LOG_LINE = /^base .*: weights \w+, alpha ([\d.]+), ([\d,]+) parameters/;

/** The frozen base's parameter count in a transfer model's layer table: its one nested-model row. */
function baseParameters(preset: PresetInfo | undefined): number | null {
  const rows = preset?.model?.layers ?? [];
  const nested = rows.filter((row) => row.className === 'Functional' || row.className === 'Model' || row.className === 'LayersModel');
  const row = (nested.length > 0 ? nested : rows).reduce<(typeof rows)[number] | null>((best, r) => (best === null || r.params > best.params ? r : best), null);
  return row?.params ?? null;
}

/**
 * The service's issue for a backend this machine cannot give (electron/services/training.ts backendIssue), found by its
 * code and backend, never by its words: rewording the message must not make the Backend list offer it again.
 */
function backendMissing(issues: readonly ValidationIssue[], backend: string): ValidationIssue | undefined {
  return issues.find((issue) => issue.severity === 'error' && issue.code === 'backend-unavailable' && issue.backend === backend);
}

/** Which split training will use, or that it makes the default one (the backend's rule for a dataset with none). */
export function splitText(split: SplitInfo | null | undefined): string {
  if (!split) return 'none yet: the default split (stratified 70/20/10, seed 1) is made when it trains';
  const pct = (v: number) => Math.round(v * 100);
  return `#${split.id} ${split.method} ${pct(split.trainFraction)}/${pct(split.valFraction)}/${pct(split.testFraction)}, seed ${split.seed} (${split.counts.train}/${split.counts.val}/${split.counts.test} images)`;
}

/** The watched run's live figures: its train job's latest progress detail, with the run's ETA. */
export type LiveTraining = TrainFigures & { etaSeconds: number | null };

/** Points of one run's learning curves, by epoch. */
export interface CurvePoint {
  epoch: number;
  accuracy: number | null;
  valAccuracy: number | null;
  loss: number | null;
  valLoss: number | null;
}

function toPoint(m: EpochMetrics): CurvePoint {
  return { epoch: m.epoch, accuracy: m.accuracy, valAccuracy: m.valAccuracy, loss: m.loss, valLoss: m.valLoss };
}

/** Both logs cut a message at 2,000 characters (jobs.log's event and the run_log table): lines are compared on that much. */
const LOG_MESSAGE_MAX = 2000;

/**
 * How many of the first `live` lines the `stored` log already ends with. The train kind writes each line to jobs.log at
 * once and to the run's stored log in batches, in the same order, so the last live lines the jobs store keeps are either
 * in the stored log's tail (a prefix of them, already written) or still waiting for their batch.
 */
export function storedOverlap(stored: readonly string[], live: readonly string[]): number {
  const same = (a: string, b: string) => a.slice(0, LOG_MESSAGE_MAX) === b.slice(0, LOG_MESSAGE_MAX);
  for (let k = Math.min(stored.length, live.length); k > 0; k--) {
    const tail = stored.length - k;
    let matches = true;
    for (let i = 0; i < k && matches; i++) matches = same(stored[tail + i]!, live[i]!);
    if (matches) return k;
  }
  return 0;
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** The dataset and split the Train and Augment views use; the datasets and their splits come from the dataset store. */
class DatasetChoice {
  splits = $state<SplitInfo[]>([]);
  datasetId = $state<number | null>(null);
  splitId = $state<number | null>(null);

  get datasets(): DatasetSummary[] {
    return datasetStore.datasets;
  }

  get dataset(): DatasetSummary | null {
    return this.datasets.find((d) => d.id === this.datasetId) ?? null;
  }

  /** Classes with images: the number of outputs the model gets. */
  get numClasses(): number {
    const split = this.splits.find((s) => s.id === this.splitId);
    if (split) return Math.max(2, Object.keys(split.perClass).length);
    return Math.max(2, this.dataset?.classes.filter((c) => c.count > 0).length ?? 2);
  }

  async load(): Promise<void> {
    await datasetStore.refresh();
    if (this.datasetId === null || !this.datasets.some((d) => d.id === this.datasetId)) {
      this.datasetId = this.datasets[0]?.id ?? null;
    }
    await this.loadSplits();
  }

  async selectDataset(id: number | null): Promise<void> {
    this.datasetId = id;
    this.splitId = null;
    await this.loadSplits();
  }

  private async loadSplits(): Promise<void> {
    const datasetId = this.datasetId;
    if (datasetId === null) {
      this.splits = [];
      return;
    }
    const splits = await datasetStore.splitsFor(datasetId);
    // Another dataset was chosen meanwhile: its own load sets the splits.
    if (this.datasetId !== datasetId) return;
    this.splits = splits;
    if (this.splitId === null || !this.splits.some((s) => s.id === this.splitId)) {
      // The newest split, as training uses by default.
      this.splitId = this.splits.reduce<number | null>((best, s) => (best === null || s.id > best ? s.id : best), null);
    }
  }
}

export const datasetChoice = new DatasetChoice();

/**
 * The Train view: presets and the editable config, live validation, starting/cancelling runs, live curves. The run
 * list is the runs store's (`runsStore.recent`); what trains now, and how far it is, is the jobs store's (train jobs).
 */
class TrainingStore {
  presets = $state<PresetInfo[]>([]);
  config = $state<TrainingConfig>(presetDefaults(DEFAULT_PRESET));
  validation = $state<ConfigValidation | null>(null);
  runName = $state('');
  /** The run whose curves and progress are shown. */
  watchedRunId = $state<number | null>(null);
  curve = $state<CurvePoint[]>([]);
  watchedStatus = $state<string | null>(null);
  watchedError = $state<string | null>(null);
  /** Backend the watched run trained on (from the catalogue, or the worker's report while it runs). */
  watchedBackend = $state<string | null>(null);
  /** The user's target line on the accuracy chart (the tutorial draws one). */
  targetAccuracy = $state(0.8);
  starting = $state(false);
  /** The watched run's record (config and versions: the base it really trained on). */
  watchedDetail = $state<RunDetail | null>(null);
  /** Said after "Train a model" on a dataset that had no split: which split the run made (or uses). */
  splitNote = $state<string | null>(null);
  /** Backends this machine cannot give (tfjs-node when it is not installed): the Backend list marks them. */
  unavailableBackends = $state<string[]>([]);
  /** Why a backend choice was taken back, shown under the Backend list. */
  backendNote = $state<string | null>(null);
  /** The watched run's stored log (runs.get, then runs.log for newer lines), null until it is answered. */
  private storedLog = $state<RunLogLine[] | null>(null);
  private validateTimer: ReturnType<typeof setTimeout> | undefined;
  private validateSeq = 0;
  private initialised = false;

  constructor() {
    // training.started is the one report of the backend a run's worker chose; the run's state comes from its job.
    transport.subscribe('training.started', (event) => {
      if (event.runId === this.watchedRunId && event.backend) this.watchedBackend = event.backend;
    });
    transport.subscribe('training.epoch', (event) => {
      if (event.runId !== this.watchedRunId) return;
      this.curve = [...this.curve.filter((p) => p.epoch !== event.epoch), toPoint(event)].sort((a, b) => a.epoch - b.epoch);
      // The jobs store keeps only a run's last lines: the stored log catches up once an epoch, so none is missed between.
      void this.loadNewerLog(event.runId);
    });
    jobsStore.onChange((job, change, finished) => {
      if (job.kind !== 'train' || job.runId === null) return;
      if (change === 'added' && this.watchedRunId === null) this.watch(job.runId);
      if (change === 'finished' && job.runId === this.watchedRunId) {
        this.watchedStatus = finished?.status ?? job.status;
        this.watchedError = finished?.error ?? job.error;
        // The record now holds the versions the worker wrote (the base it really loaded), and the log its last lines.
        void this.reloadDetail(job.runId);
        void this.loadNewerLog(job.runId);
      }
    });
  }

  /** The watched run's train job while it is queued or running (null once it ended, or for an old run). */
  get watchedJob(): JobInfo | null {
    if (this.watchedRunId === null) return null;
    const job = jobsStore.forRun(this.watchedRunId, 'train');
    return job && (job.status === 'queued' || job.status === 'running') ? job : null;
  }

  /** The watched run's live figures (epoch, batch, speed), null while queued or before its first report. */
  get progress(): LiveTraining | null {
    const job = this.watchedJob;
    const figures = jobsStore.trainFigures(job ?? undefined);
    return figures && job?.status === 'running' ? { ...figures, etaSeconds: job.progress?.etaSeconds ?? null } : null;
  }

  /** The watched run's time left in the Jobs panel's words ("about 3 min left"); '' while queued or before an estimate is due. */
  get timeLeft(): string {
    const job = this.watchedJob;
    return job ? jobsStore.timeLeftText(job) : '';
  }

  /**
   * The watched run's log: the lines the catalogue kept for it (so a reload or reopening Train shows the whole log, not
   * only what this page heard), then the lines heard live since, each once.
   */
  get logs(): string[] {
    const job = this.watchedRunId === null ? undefined : jobsStore.forRun(this.watchedRunId, 'train');
    const live = job ? (jobsStore.logs[job.id] ?? []) : [];
    if (this.storedLog === null) return live;
    const stored = this.storedLog.map((line) => line.message);
    return [...stored, ...live.slice(storedOverlap(stored, live))].slice(-RUN_LOG_KEEP);
  }

  /** The watched run's stored lines after the last one shown (runs.log). */
  private async loadNewerLog(runId: number): Promise<void> {
    const stored = this.storedLog;
    if (this.watchedRunId !== runId || stored === null) return;
    try {
      const { lines } = await transport.invoke('runs.log', { runId, afterSeq: stored.at(-1)?.seq ?? 0 });
      if (this.watchedRunId === runId && this.storedLog !== null && lines.length > 0) this.storedLog = appendLogLines(this.storedLog, lines);
    } catch {
      // Deleted meanwhile: the log shown stays.
    }
  }

  /** The train job of a run while it is queued or running. */
  jobOf(runId: number): JobInfo | null {
    const job = jobsStore.forRun(runId, 'train');
    return job && (job.status === 'queued' || job.status === 'running') ? job : null;
  }

  /**
   * The base of the form's mobilenetv2 config: the bundled alpha 0.35 (alpha and parameters from the presets answer's
   * layer table), the alpha 1.00 download, or a chosen folder/file (its alpha and parameters once a run on it recorded
   * them in its versions).
   */
  get base(): BaseDescription | null {
    const { preset, mobilenet } = this.config;
    if (preset !== 'mobilenetv2') return null;
    if (mobilenet.baseSource) {
      const detail = this.watchedDetail;
      const mine = detail?.config.mobilenet.baseSource === mobilenet.baseSource;
      const versions = mine ? detail.versions : null;
      // The worker names the base it loaded in the run's log ("base …: weights …, alpha 0.35, 410,208 parameters");
      // the run's versions hold it only for the bundled base today.
      const logged = mine ? this.logs.map((line) => BASE_LOG_LINE.exec(line)).find((match) => match !== null) : undefined;
      const alpha = versions?.mobilenetAlpha ?? logged?.[1];
      const parameters = versions?.mobilenetBaseParameters ?? logged?.[2]?.replace(/,/g, '');
      return { kind: 'chosen', name: mobilenet.baseSource, alpha: alpha ? Number(alpha) : null, parameters: parameters ? Number(parameters) : null };
    }
    const described = this.presets.find((p) => p.name === 'mobilenetv2');
    if (described && mobilenet.alpha === described.defaults.mobilenet.alpha) {
      return { kind: 'bundled', name: 'ImageNet MobileNetV2, bundled with the app', alpha: mobilenet.alpha, parameters: baseParameters(described) };
    }
    return { kind: 'download', name: `ImageNet MobileNetV2 alpha ${mobilenet.alpha.toFixed(2)} (downloaded once)`, alpha: mobilenet.alpha, parameters: null };
  }

  /** Uses a base the user picked (a folder, model.json or Keras .h5); null goes back to the bundled one. */
  setBase(source: string | null): void {
    this.update((c) => {
      if (source) c.mobilenet.baseSource = source;
      else delete c.mobilenet.baseSource;
    });
  }

  /** Alpha 1.00 (downloads once) or back to the bundled alpha. */
  setAlpha(alpha: TrainingConfig['mobilenet']['alpha']): void {
    this.update((c) => (c.mobilenet.alpha = alpha));
  }

  /**
   * "Train a model" from the Dataset view: the default preset on this dataset's newest split, or (none yet) the split
   * the train kind makes; the note says which. Returns the run id, null when it did not start.
   */
  async trainDefault(datasetId: number): Promise<number | null> {
    this.splitNote = null;
    const before = await datasetStore.splitsFor(datasetId);
    // The Train form's settings when it shows the default preset (the user may have tuned them), else its defaults.
    if (this.config.preset !== DEFAULT_PRESET) this.config = presetDefaults(DEFAULT_PRESET);
    await datasetChoice.selectDataset(datasetId);
    this.starting = true;
    try {
      const job = await jobsStore.start({ kind: 'train', input: { datasetId, config: $state.snapshot(this.config) } });
      if (!job || job.runId === null) return null;
      this.watch(job.runId);
      await this.noteSplit(datasetId, before);
      await this.refreshRuns();
      return job.runId;
    } finally {
      this.starting = false;
    }
  }

  /** After a run started: the split the train kind made (compared with the splits before), or the one it uses. */
  private async noteSplit(datasetId: number, before: SplitInfo[]): Promise<void> {
    const after = await datasetStore.splitsFor(datasetId);
    const made = after.find((split) => !before.some((old) => old.id === split.id));
    const used = made ?? after.reduce<SplitInfo | null>((best, s) => (best === null || s.id > best.id ? s : best), null);
    this.splitNote = made
      ? `No split yet: made the default split ${splitText(made)}. Runs keep it; make another in the Dataset view for later runs.`
      : `Trains on split ${splitText(used)}.`;
    if (datasetChoice.datasetId === datasetId) await datasetChoice.selectDataset(datasetId);
    if (datasetStore.currentId === datasetId) await datasetStore.loadSplits();
  }

  get preset(): PresetInfo | null {
    return this.presets.find((p) => p.name === this.config.preset) ?? null;
  }

  async init(): Promise<void> {
    await datasetChoice.load();
    await this.loadPresets();
    await Promise.all([this.refreshRuns(), jobsStore.ready()]);
    if (!this.initialised) {
      this.initialised = true;
      void this.probeBackends();
      // After a reload: the run that trains now (else the next in the queue), with its last reported epoch.
      const trains = jobsStore.active.filter((job) => job.kind === 'train' && job.runId !== null);
      const running = trains.find((job) => job.status === 'running') ?? trains[0];
      if (running && this.watchedRunId === null) this.watch(running.runId!);
    }
    this.scheduleValidation();
  }

  async loadPresets(): Promise<void> {
    try {
      const { presets } = await transport.invoke('training.presets', { numClasses: datasetChoice.numClasses });
      this.presets = presets;
    } catch (error) {
      appStore.report(error);
    }
  }

  /** The run list (through the runs store, which refreshes on train jobs' changes by itself). */
  async refreshRuns(): Promise<void> {
    await runsStore.refresh();
  }

  selectPreset(name: PresetName): void {
    const info = this.presets.find((p) => p.name === name);
    const defaults = info ? clone(info.defaults) : presetDefaults(name);
    // Keep the user's backend choice across presets; everything else comes from the tutorial's settings.
    this.config = { ...defaults, backend: this.config.backend };
    this.scheduleValidation();
  }

  /** Applies a change to the form and re-validates shortly after. */
  update(change: (config: TrainingConfig) => void): void {
    const next = clone(this.config);
    change(next);
    this.config = next;
    this.scheduleValidation();
  }

  setAugmentation(patch: Partial<AugmentationConfig>): void {
    this.update((c) => Object.assign(c.augmentation, patch));
  }

  setPreprocessing(value: Preprocessing): void {
    this.update((c) => (c.preprocessing = value));
  }

  setLayers(layers: CustomLayer[]): void {
    this.update((c) => (c.customLayers = layers));
  }

  scheduleValidation(): void {
    clearTimeout(this.validateTimer);
    this.validateTimer = setTimeout(() => void this.validate(), 150);
  }

  async validate(): Promise<void> {
    const seq = ++this.validateSeq;
    try {
      const result = await transport.invoke('training.validateConfig', {
        config: $state.snapshot(this.config), numClasses: datasetChoice.numClasses,
      });
      if (seq !== this.validateSeq) return;
      // The service refuses a backend this machine lacks; the choice goes back to auto (it does not stick), saying why.
      const missing = backendMissing(result.issues, this.config.backend);
      if (missing) {
        this.markUnavailable(this.config.backend, missing.message);
        this.config = { ...this.config, backend: 'auto' };
        this.scheduleValidation();
        return;
      }
      this.validation = result;
    } catch (error) {
      appStore.report(error);
    }
  }

  private markUnavailable(backend: string, message: string): void {
    if (!this.unavailableBackends.includes(backend)) this.unavailableBackends = [...this.unavailableBackends, backend];
    this.backendNote = message;
  }

  /** Asks once whether tfjs-node is installed (the service says so when validating a config that chooses it). */
  private async probeBackends(): Promise<void> {
    try {
      const result = await transport.invoke('training.validateConfig', { config: { preset: this.config.preset, backend: 'node' }, numClasses: 2 });
      if (backendMissing(result.issues, 'node') && !this.unavailableBackends.includes('node')) this.unavailableBackends = [...this.unavailableBackends, 'node'];
    } catch {
      // the list stays as it is; choosing tfjs-node is still refused in words by validation
    }
  }

  async start(): Promise<void> {
    const datasetId = datasetChoice.datasetId;
    if (datasetId === null) return;
    const before = datasetChoice.splitId === null ? [...datasetChoice.splits] : null;
    this.splitNote = null;
    this.starting = true;
    try {
      const job = await jobsStore.start({
        kind: 'train',
        input: {
          datasetId,
          splitId: datasetChoice.splitId ?? undefined,
          name: this.runName.trim() || undefined,
          config: $state.snapshot(this.config),
        },
      });
      if (job && job.runId !== null) {
        this.watch(job.runId);
        if (before) await this.noteSplit(datasetId, before);
        await this.refreshRuns();
      }
    } finally {
      this.starting = false;
    }
  }

  /** Cancels a run's train job: a queued run at once, a running one after its current batch. */
  async cancel(runId: number): Promise<void> {
    const job = this.jobOf(runId);
    if (!job) {
      appStore.report(new Error(`Run ${runId} is not training any more.`));
      return;
    }
    await jobsStore.cancel(job.id);
  }

  private async reloadDetail(runId: number): Promise<void> {
    try {
      const run = await transport.invoke('runs.get', { runId });
      if (this.watchedRunId === runId) this.watchedDetail = run;
    } catch {
      // Deleted meanwhile: nothing to show.
    }
  }

  /** Shows this run's curves: finished epochs from the catalogue, then live ones from events. */
  watch(runId: number): void {
    this.watchedRunId = runId;
    this.curve = [];
    this.watchedStatus = null;
    this.watchedError = null;
    this.watchedBackend = null;
    this.watchedDetail = null;
    this.storedLog = null;
    void (async () => {
      try {
        const run = await transport.invoke('runs.get', { runId });
        if (this.watchedRunId !== runId) return;
        this.watchedDetail = run;
        this.storedLog = run.log;
        // Epochs that arrived live while this loaded win over the stored ones.
        const live = new Set(this.curve.map((p) => p.epoch));
        this.curve = [...run.epochs.filter((m) => !live.has(m.epoch)).map(toPoint), ...this.curve].sort((a, b) => a.epoch - b.epoch);
        this.watchedStatus = run.status;
        this.watchedError = run.error;
        this.watchedBackend ??= run.backend;
      } catch (error) {
        appStore.report(error);
      }
    })();
  }
}

export const trainingStore = new TrainingStore();

/** The Augment view: images of a dataset, the live options, and previews made by the training code. */
class AugmentStore {
  options = $state<AugmentationConfig>({ flip: 'both', rotation: 0.25, zoom: 0, brightness: 0, contrast: 0 });
  preprocessing = $state<Preprocessing>('none');
  seed = $state(42);
  count = $state(6);
  size = $state(160);
  candidates = $state<Array<{ imageId: number; className: string }>>([]);
  selected = $state<number[]>([]);
  previews = $state<AugmentPreview[]>([]);
  loading = $state(false);
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  async init(): Promise<void> {
    await datasetChoice.load();
    await this.loadCandidates();
  }

  async selectDataset(id: number | null): Promise<void> {
    await datasetChoice.selectDataset(id);
    await this.loadCandidates();
  }

  async loadCandidates(): Promise<void> {
    if (datasetChoice.datasetId === null) {
      this.candidates = [];
      this.selected = [];
      this.previews = [];
      return;
    }
    try {
      const groups = await transport.invoke('images.sample', { datasetId: datasetChoice.datasetId, perClass: 6, seed: 0 });
      this.candidates = groups.flatMap((g) => g.imageIds.map((imageId) => ({ imageId, className: g.className })));
      const firstOfEach = groups.map((g) => g.imageIds[0]).filter((id): id is number => id !== undefined);
      this.selected = firstOfEach.slice(0, 2);
      this.refresh();
    } catch (error) {
      appStore.report(error);
    }
  }

  toggle(imageId: number): void {
    this.selected = this.selected.includes(imageId) ? this.selected.filter((id) => id !== imageId) : [...this.selected, imageId].slice(-4);
    this.refresh();
  }

  set(patch: Partial<AugmentationConfig>): void {
    this.options = { ...this.options, ...patch };
    this.refresh();
  }

  setSeed(seed: number): void {
    if (Number.isInteger(seed) && seed >= 0) this.seed = seed;
    this.refresh();
  }

  setCount(count: number): void {
    this.count = Math.min(16, Math.max(1, Math.round(count)));
    this.refresh();
  }

  /** Takes the options of the Train view's current config (what the next run would use). */
  useTrainingOptions(config: TrainingConfig): void {
    this.options = { ...config.augmentation };
    this.preprocessing = config.preprocessing;
    this.seed = config.seed;
    this.size = Math.max(16, Math.min(512, config.imageSize.height));
    this.refresh();
  }

  /** Re-renders the previews shortly after the last change (sliders fire many events). */
  refresh(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.render(), 120);
  }

  private async render(): Promise<void> {
    const seq = ++this.seq;
    this.loading = true;
    try {
      const previews = await Promise.all(this.selected.map((imageId) => transport.invoke('augment.preview', {
        imageId, options: { ...this.options }, size: this.size, seed: this.seed, count: this.count,
      })));
      if (seq === this.seq) this.previews = previews;
    } catch (error) {
      appStore.report(error);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }
}

export const augmentStore = new AugmentStore();
