// Pawprint against PyTorch on the same cores, interleaved in one run (issue 16).
//
//   npm run bench -- peer          (or: npx tsx bench/peer.ts [--rounds 2] [--steps 5] [--no-profile] [--before]
//                                    [--threads 2] [--workloads cnn,cnn-augment,cnn-normalize,mobilenet-1.00,mobilenet-0.35])
//
// Workloads: one training step (batch 32, 160x160, forward with dropout on, sigmoid cross-entropy, Adam) of the
// cnn, cnn-augment and cnn-normalize presets, and the frozen BN-folded MobileNetV2 forward plus max/avg pooling
// that feature extraction runs (uint8 pixels in, preprocessing included). The PyTorch side (bench/peer_torch.py,
// run with Debian's /usr/bin/python3 or $PAWPRINT_PEER_PYTHON) builds the very layer lists read from the built
// Pawprint models, on 2 threads, NCHW as installed and channels-last; parameter counts are checked to match.
// Each round times every workload on every side, `--steps` steps at a time, so load from other processes on
// this shared machine falls on both; min and median are over all rounds' steps. --before adds Pawprint without
// its C kernels (native/, the XNNPACK-based kernels it falls back to) as one more side, for a before/after in
// the same run. Training steps run as the trainer runs them: split across --threads threads (default: one per core,
// as the job runtime gives a lone training job; electron/training/parallel/), with the same step on one thread as
// the "(1 thread)" side of the same interleaved run. The MobileNetV2 forward runs as feature extraction runs it
// (electron/training/mobilenet/feature-threads.ts): one feature thread per core (up to 4, PAWPRINT_FEATURE_THREADS),
// each embedding its own batch of 32 at once, timed as seconds per batch of throughput (wall time / batches), beside
// the in-process extractor as its "(1 thread)" side. The load average is printed at the start, after each round
// and at the end. Writes bench-results/peer.json.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { tf, type Tensor, type LayersModel } from '../electron/tfjs/tf';
import { buildPresetModel } from '../electron/training/presets';
import { presetDefaults } from '../shared/training-config';
import { selectBackend } from '../electron/tfjs/backend/select-backend';
import { nativeKernelStatus, setNativeKernelsEnabled } from '../electron/tfjs/backend/native-kernels';
import { buildMobileNetV2, mobileNetV2Spec, type MobileNetAlpha, type MobileNetV2Spec } from '../electron/training/mobilenet/mobilenet-v2';
import { resolveBaseWeights, type BaseWeights } from '../electron/training/mobilenet/base-weights';
import { baseWeightsFromModel } from '../electron/training/mobilenet/fold-batchnorm';
import { MobileNetFeatureExtractor, runBatchesOnLanes } from '../electron/training/mobilenet/feature-extractor';
import { defaultFeatureThreads, startFeatureThreads } from '../electron/training/mobilenet/feature-threads';
import { DataParallelTrainer } from '../electron/training/parallel/data-parallel';
import { printTable } from './_table';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const TM_MODEL = path.resolve(ROOT, '../shared/models/mobilenet-v2-0.35-224-teachable-machine');
const PYTHON = process.env.PAWPRINT_PEER_PYTHON ?? '/usr/bin/python3';
const INSTALL = 'sudo apt-get install python3-torch (Debian/Ubuntu; it installs under /usr/bin/python3)';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const rounds = Number(arg('rounds', '2'));
const stepsPerRound = Number(arg('steps', '5'));
const BATCH = 32;
const SIZE = 160;
const withBefore = process.argv.includes('--before') && nativeKernelStatus().available;
const trainThreads = Math.max(1, Math.floor(Number(arg('threads', String(os.availableParallelism())))));
const wanted = arg('workloads', 'cnn,cnn-augment,cnn-normalize,mobilenet-1.00,mobilenet-0.35').split(',');

// ------------------------------------------------------------------ layer lists shared with the Python side
type LayerSpec =
  | { type: 'rescaling'; scale: number; offset: number }
  | { type: 'conv2d'; filters: number; kernel: [number, number]; strides: [number, number]; padding: string; activation: string }
  | { type: 'maxPool'; pool: [number, number]; strides: [number, number] }
  | { type: 'flatten' }
  | { type: 'dense'; units: number; activation: string }
  | { type: 'dropout'; rate: number };

type Workload =
  | { name: string; kind: 'train'; layers: LayerSpec[] }
  | { name: string; kind: 'forward'; spec: MobileNetV2Spec; weights: string };

function pair(v: unknown): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)];
}

function layerSpecs(model: LayersModel): LayerSpec[] {
  return model.layers.map((layer): LayerSpec => {
    const c = layer.getConfig() as Record<string, unknown>;
    switch (layer.getClassName()) {
      case 'Rescaling': return { type: 'rescaling', scale: Number(c.scale), offset: Number(c.offset) };
      case 'Conv2D':
        if (c.dataFormat !== 'channelsLast' || pair(c.dilationRate).some((d) => d !== 1)) throw new Error(`${layer.name}: only NHWC undilated convs are mirrored`);
        return { type: 'conv2d', filters: Number(c.filters), kernel: pair(c.kernelSize), strides: pair(c.strides), padding: String(c.padding), activation: String(c.activation) };
      case 'MaxPooling2D':
        if (c.padding !== 'valid') throw new Error(`${layer.name}: only valid pooling is mirrored`);
        return { type: 'maxPool', pool: pair(c.poolSize), strides: pair(c.strides) };
      case 'Flatten': return { type: 'flatten' };
      case 'Dense': return { type: 'dense', units: Number(c.units), activation: String(c.activation) };
      case 'Dropout': return { type: 'dropout', rate: Number(c.rate) };
      default: throw new Error(`layer ${layer.getClassName()} is not mirrored in bench/peer_torch.py`);
    }
  });
}

// ------------------------------------------------------------------ FLOPs (multiply-adds x2; convs and dense only)
/** FLOPs of one training step: forward, weight gradient, and input gradient for every layer but the first. */
function trainFlops(layers: LayerSpec[]): number {
  let h = SIZE, w = SIZE, c = 3, total = 0, first = true;
  for (const l of layers) {
    if (l.type === 'conv2d') {
      const oh = Math.floor((h - l.kernel[0]) / l.strides[0]) + 1;
      const ow = Math.floor((w - l.kernel[1]) / l.strides[1]) + 1;
      const f = 2 * BATCH * oh * ow * l.kernel[0] * l.kernel[1] * c * l.filters;
      total += f * (first ? 2 : 3);
      first = false;
      h = oh; w = ow; c = l.filters;
    } else if (l.type === 'maxPool') {
      h = Math.floor((h - l.pool[0]) / l.strides[0]) + 1;
      w = Math.floor((w - l.pool[1]) / l.strides[1]) + 1;
    } else if (l.type === 'flatten') {
      c = h * w * c; h = 1; w = 1;
    } else if (l.type === 'dense') {
      total += 2 * BATCH * c * l.units * (first ? 2 : 3);
      first = false;
      c = l.units;
    }
  }
  return total;
}

function forwardFlops(spec: MobileNetV2Spec): number {
  let side = Math.ceil(SIZE / 2);
  let total = 2 * BATCH * side * side * 9 * 3 * spec.firstFilters;
  for (const b of spec.blocks) {
    const e = b.expand ? b.expandedChannels : b.inChannels;
    if (b.expand) total += 2 * BATCH * side * side * b.inChannels * e;
    side = Math.ceil(side / b.stride);
    total += 2 * BATCH * side * side * 9 * e;
    total += 2 * BATCH * side * side * e * b.outChannels;
  }
  total += 2 * BATCH * side * side * spec.blocks[spec.blocks.length - 1].outChannels * spec.lastFilters;
  return total;
}

// ------------------------------------------------------------------ machine peak
interface Peak { gflops: number; how: string }
function machinePeak(): Peak {
  const out = spawnSync('lscpu', [], { encoding: 'utf8' });
  const text = out.status === 0 ? out.stdout : '';
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim();
  const cpus = Number(field('CPU\\(s\\)') ?? os.cpus().length);
  const flags = (field('Flags') ?? '').split(/\s+/);
  const maxMhz = Number(field('CPU max MHz') ?? NaN);
  const bogo = Number(field('BogoMIPS') ?? NaN);
  // lscpu in a VM often has no MHz line; BogoMIPS is twice the TSC clock on x86.
  const ghz = Number.isFinite(maxMhz) ? maxMhz / 1000 : Number.isFinite(bogo) ? bogo / 2000 : os.cpus()[0]!.speed / 1000;
  const clockFrom = Number.isFinite(maxMhz) ? 'CPU max MHz' : Number.isFinite(bogo) ? 'BogoMIPS / 2' : 'os.cpus() speed';
  const vendor = field('Vendor ID') ?? '';
  const family = Number(field('CPU family') ?? 0);
  const avx512 = flags.includes('avx512f');
  const avx2 = flags.includes('avx2');
  const fma = flags.includes('fma');
  // FP32 lanes per vector x 2 FMA pipes x 2 FLOPs per FMA. AMD family 23 (Zen 1) runs 256-bit ops as two 128-bit halves.
  const lanes = avx512 ? 16 : avx2 ? (vendor === 'AuthenticAMD' && family === 23 ? 4 : 8) : 4;
  const perCycle = lanes * 2 * (fma ? 2 : 1);
  const gflops = cpus * ghz * perCycle;
  return {
    gflops,
    how: `${cpus} cores x ${ghz.toFixed(2)} GHz (${clockFrom}) x ${perCycle} FP32 FLOP/cycle (${lanes} lanes x 2 pipes${fma ? ' x 2 for FMA' : ''}; ${vendor} family ${family}${avx2 ? ', avx2' : ''}${fma ? ', fma' : ''})`,
  };
}

// ------------------------------------------------------------------ PyTorch side
interface TorchReply { ok: boolean; error?: string; params?: number; seconds?: number[]; torch?: string; threads?: number; config?: string; python?: string }

class TorchPeer {
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(`[torch] ${d.toString()}`));
  }

  /** Starts the Python side, or returns why it cannot run. */
  static start(): TorchPeer | string {
    if (!existsSync(PYTHON)) return `${PYTHON} not found; install PyTorch with: ${INSTALL}`;
    const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      const why = (probe.stderr || probe.error?.message || '').trim().split('\n').pop();
      return `PyTorch is not importable by ${PYTHON} (${why}); install it with: ${INSTALL}`;
    }
    const child = spawn(PYTHON, [path.join(ROOT, 'bench', 'peer_torch.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new TorchPeer(child);
  }

  request(message: Record<string, unknown>): Promise<TorchReply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the PyTorch side exited (code ${code})`));
      this.child.once('exit', onExit);
      this.waiting.push((line) => {
        this.child.off('exit', onExit);
        resolve(JSON.parse(line) as TorchReply);
      });
      this.child.stdin.write(JSON.stringify(message) + '\n');
    });
  }

  close(): void {
    this.child.stdin.write(JSON.stringify({ cmd: 'quit' }) + '\n');
    this.child.stdin.end();
  }
}

// ------------------------------------------------------------------ Pawprint side
interface PawprintCase {
  params: number;
  step: () => Promise<number>;
  dispose: () => void;
  profile?: () => Promise<KernelTime[]>;
  /** Batches one step computes (feature threads: one each, at once); timings are divided by it. */
  batchesPerStep?: number;
}
interface KernelTime { kernel: string; calls: number; ms: number }

function trainCase(preset: 'cnn' | 'cnn-augment' | 'cnn-normalize'): { model: LayersModel; c: PawprintCase } {
  const config = { ...presetDefaults(preset), imageSize: { height: SIZE, width: SIZE } };
  const model = buildPresetModel(config, 2);
  const optimizer = tf.train.adam(1e-3);
  const { xs, ys } = tf.tidy(() => ({
    xs: tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 255, 'float32', 7),
    ys: tf.cast(tf.greater(tf.randomUniform([BATCH, 1], 0, 1, 'float32', 8), 0.5), 'float32'),
  }));
  const step = (): number => {
    const loss = optimizer.minimize(() => {
      const logits = model.apply(xs, { training: true }) as Tensor;
      return tf.losses.sigmoidCrossEntropy(ys, logits) as import('@tensorflow/tfjs').Scalar;
    }, true);
    if (!loss) throw new Error('no loss returned');
    const value = loss.dataSync()[0]!;
    loss.dispose();
    return value;
  };
  return {
    model,
    c: {
      params: model.countParams(),
      step: async () => step(),
      profile: async () => {
        const info = await tf.profile(() => { step(); });
        const by = new Map<string, KernelTime>();
        for (const k of info.kernels) {
          const e = by.get(k.name) ?? { kernel: k.name, calls: 0, ms: 0 };
          e.calls++;
          e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
          by.set(k.name, e);
        }
        return [...by.values()].sort((a, b) => b.ms - a.ms);
      },
      dispose: () => { tf.dispose([xs, ys]); optimizer.dispose(); model.dispose(); },
    },
  };
}

/** The same step split across `threads` threads as the trainer does it (DataParallelTrainer), on its own model copy. */
async function parallelTrainCase(preset: 'cnn' | 'cnn-augment' | 'cnn-normalize', threads: number): Promise<PawprintCase> {
  const config = { ...presetDefaults(preset), imageSize: { height: SIZE, width: SIZE } };
  const model = buildPresetModel(config, 2);
  const optimizer = tf.train.adam(1e-3);
  const { xs, ys } = tf.tidy(() => ({
    xs: tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 255, 'float32', 7),
    ys: tf.cast(tf.greater(tf.randomUniform([BATCH, 1], 0, 1, 'float32', 8), 0.5), 'float32'),
  }));
  let parallel: DataParallelTrainer;
  try {
    parallel = await DataParallelTrainer.start({ config, numClasses: 2, model, threads });
  } catch (error) {
    tf.dispose([xs, ys]);
    optimizer.dispose();
    model.dispose();
    throw error;
  }
  const rows = (t: Tensor, start: number, end: number) => tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [end - start, ...t.shape.slice(1).map(() => -1)]);
  const batch = { size: BATCH, inputs: (s: number, e: number) => rows(xs, s, e), labels: (s: number, e: number) => rows(ys, s, e), sampleWeights: null };
  return {
    params: model.countParams(),
    step: async () => (await parallel.step(batch, optimizer)).loss,
    dispose: () => { parallel.dispose(); tf.dispose([xs, ys]); optimizer.dispose(); model.dispose(); },
  };
}

function forwardPixels(): Uint8Array {
  const px = new Uint8Array(BATCH * SIZE * SIZE * 3);
  let s = 1;
  for (let i = 0; i < px.length; i++) px[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return px;
}

/**
 * The forward as extraction runs it on all cores: feature threads (one per core up to 4, the app's default), each
 * lane taking a batch of 32 through runBatchesOnLanes as extractFeatures does; one step = one batch per lane.
 */
async function threadedForwardCase(weights: BaseWeights, params: number): Promise<PawprintCase> {
  const lanes = await startFeatureThreads({ weights, imageSize: SIZE, backend: 'wasm', threads: defaultFeatureThreads() });
  const px = forwardPixels();
  let first = 0;
  return {
    params,
    batchesPerStep: lanes.length,
    step: async () => {
      await runBatchesOnLanes(lanes, lanes.length, {
        load: async () => px,
        compute: async (lane, batch, pixels) => {
          const features = await lane.embed(pixels, BATCH);
          if (batch === 0) first = features[0]!;
        },
      });
      return first;
    },
    dispose: () => { for (const lane of lanes) lane.dispose(); },
  };
}

function forwardCase(weights: BaseWeights): PawprintCase {
  const ex = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE, folded: true });
  const px = forwardPixels();
  let params = 0;
  for (const [name, t] of weights.tensors) {
    // Folded: each conv keeps its kernel and gains a bias of its output channels; BatchNorm's 4 vectors go.
    if (/kernel$/.test(name)) params += t.data.length + (name.includes('depthwise') ? t.shape[2]! : t.shape[3]!);
  }
  return {
    params,
    step: async () => (await ex.embed(px, BATCH))[0]!,
    dispose: () => ex.dispose(),
  };
}

// ------------------------------------------------------------------ statistics and output
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const min = (xs: number[]) => Math.min(...xs);

interface Side { label: string; seconds: number[]; params?: number; error?: string }

const loadText = (l: number[]) => l.map((v) => v.toFixed(1)).join(' ');

async function main(): Promise<void> {
  const loadStart = os.loadavg();
  console.log(`load average (1/5/15 min) at start: ${loadText(loadStart)} on ${os.cpus().length} cores (other processes' load falls on both sides of each round)`);
  const backend = await selectBackend('wasm');
  const peak = machinePeak();
  const peer = TorchPeer.start();
  const torchSkip = typeof peer === 'string' ? peer : undefined;
  const torchInfo = typeof peer === 'string' ? undefined : await peer.request({ cmd: 'info' });
  if (torchSkip) console.log(`PyTorch side skipped: ${torchSkip}`);
  else console.log(`PyTorch ${torchInfo?.torch} (python ${torchInfo?.python}), ${torchInfo?.threads} threads, vs Pawprint on ${backend.name} (${backend.threads ?? 1} thread)`);
  console.log(`Pawprint: ${backend.nativeKernels ?? 'no C kernels'}${withBefore ? '; "before" rows: the same without them' : ''}`);

  const workloads: Workload[] = [];
  const pawprint = new Map<string, PawprintCase>();
  /** Training steps split across trainThreads threads and the forward on feature threads: the "pawprint" side when
   * present, the same in this thread the "(1 thread)" side. */
  const threaded = new Map<string, PawprintCase>();
  const notes: string[] = [];
  for (const preset of ['cnn', 'cnn-augment', 'cnn-normalize'] as const) {
    if (!wanted.includes(preset)) continue;
    const { model, c } = trainCase(preset);
    workloads.push({ name: preset, kind: 'train', layers: layerSpecs(model) });
    pawprint.set(preset, c);
    if (trainThreads > 1) {
      try {
        threaded.set(preset, await parallelTrainCase(preset, trainThreads));
      } catch (error) {
        notes.push(`${preset}: training threads did not start (${(error as Error).message}); timed on one thread`);
      }
    }
  }
  if (threaded.size) console.log(`Pawprint training steps split across ${trainThreads} threads ("(1 thread)" rows: the same step on one)`);
  const caseFor = (name: string, label: string) => (label === 'pawprint' ? threaded.get(name) ?? pawprint.get(name)! : pawprint.get(name)!);
  const mobilenet = async (alpha: MobileNetAlpha, name: string) => {
    if (!wanted.includes(name)) return;
    let weights: BaseWeights;
    let label: string;
    if (alpha === 1.0) {
      // The alpha 1.00 ImageNet weights are not on disk here (a download away): random weights of the same
      // architecture, which time the same (no value-dependent work in the folded forward).
      const m = buildMobileNetV2({ alpha, imageSize: SIZE });
      weights = baseWeightsFromModel(m, alpha);
      m.dispose();
      label = 'random weights (alpha 1.00 ImageNet weights not on disk; speed does not depend on values)';
    } else {
      if (!existsSync(path.join(TM_MODEL, 'model.json'))) { notes.push(`${name} skipped: ${TM_MODEL} not found`); return; }
      weights = await resolveBaseWeights({ kind: 'local', path: TM_MODEL }, { cacheDir: os.tmpdir() });
      label = `ImageNet backbone from ${path.relative(ROOT, TM_MODEL)}`;
    }
    workloads.push({ name, kind: 'forward', spec: mobileNetV2Spec({ alpha, imageSize: SIZE }), weights: label });
    const single = forwardCase(weights);
    pawprint.set(name, single);
    if (defaultFeatureThreads() > 1) {
      try {
        threaded.set(name, await threadedForwardCase(weights, single.params));
      } catch (error) {
        notes.push(`${name}: feature threads did not start (${(error as Error).message}); timed in this thread only`);
      }
    }
  };
  await mobilenet(1.0, 'mobilenet-1.00');
  await mobilenet(0.35, 'mobilenet-0.35');
  const forwardLanes = [...threaded.values()].find((c) => c.batchesPerStep)?.batchesPerStep;
  if (forwardLanes) console.log(`Pawprint MobileNetV2 forward on ${forwardLanes} feature threads, a batch of ${BATCH} each at once (seconds per batch = wall time / ${forwardLanes}; "(1 thread)" rows: the extractor in this thread)`);

  const variants = ['nchw', 'channels-last'] as const;
  const sides = new Map<string, Side[]>();
  for (const w of workloads) {
    const list: Side[] = [{ label: 'pawprint', seconds: [], params: pawprint.get(w.name)!.params }];
    if (withBefore) list.push({ label: 'pawprint-before', seconds: [], params: pawprint.get(w.name)!.params });
    if (threaded.has(w.name)) list.push({ label: 'pawprint-1t', seconds: [], params: pawprint.get(w.name)!.params });
    await pawprint.get(w.name)!.step(); // warm-up: kernel set-up, Adam state, heap growth
    await threaded.get(w.name)?.step();
    if (typeof peer !== 'string') {
      for (const v of variants) {
        const reply = await peer.request({ cmd: 'setup', key: `${w.name}/${v}`, workload: w, variant: v, batch: BATCH, size: SIZE });
        list.push({ label: `torch ${v}`, seconds: [], params: reply.params, error: reply.ok ? undefined : reply.error });
      }
    }
    sides.set(w.name, list);
  }

  for (let r = 0; r < rounds; r++) {
    for (const w of workloads) {
      const list = sides.get(w.name)!;
      // Alternate who goes first so a burst of outside load does not always land on the same side.
      const order = r % 2 === 0 ? list : [...list].reverse();
      for (const side of order) {
        if (side.error) continue;
        if (side.label.startsWith('pawprint')) {
          const c = caseFor(w.name, side.label);
          setNativeKernelsEnabled(side.label !== 'pawprint-before');
          for (let i = 0; i < stepsPerRound; i++) {
            const t0 = performance.now();
            await c.step();
            side.seconds.push((performance.now() - t0) / 1000 / (c.batchesPerStep ?? 1));
          }
          setNativeKernelsEnabled(true);
        } else if (typeof peer !== 'string') {
          const reply = await peer.request({ cmd: 'time', key: `${w.name}/${side.label.replace('torch ', '')}`, steps: stepsPerRound });
          if (reply.ok) side.seconds.push(...reply.seconds!);
          else side.error = reply.error;
        }
      }
      process.stdout.write(`round ${r + 1}/${rounds} ${w.name}: ${list.map((s) => `${s.label} ${s.seconds.length ? median(s.seconds).toFixed(3) : '-'} s`).join(', ')}\n`);
    }
    console.log(`load average after round ${r + 1}: ${loadText(os.loadavg())}`);
  }

  let profile: KernelTime[] | undefined;
  let profileBefore: KernelTime[] | undefined;
  if (!process.argv.includes('--no-profile') && pawprint.get('cnn')?.profile) {
    profile = await pawprint.get('cnn')!.profile!();
    if (withBefore) {
      setNativeKernelsEnabled(false);
      profileBefore = await pawprint.get('cnn')!.profile!();
      setNativeKernelsEnabled(true);
    }
  }
  if (typeof peer !== 'string') peer.close();
  for (const c of [...pawprint.values(), ...threaded.values()]) c.dispose();

  const flopsOf = (w: Workload) => (w.kind === 'train' ? trainFlops(w.layers) : forwardFlops(w.spec));
  const rows: string[][] = [];
  const json: Record<string, unknown>[] = [];
  for (const w of workloads) {
    const all = sides.get(w.name)!;
    const paw = all[0]!;
    const torch = all.filter((x) => !x.label.startsWith('pawprint'));
    const before = all.find((x) => x.label === 'pawprint-before');
    const oneThread = all.find((x) => x.label === 'pawprint-1t');
    const flops = flopsOf(w);
    const gf = (s: number) => `${(flops / s / 1e9).toFixed(1)} (${((flops / s / 1e9 / peak.gflops) * 100).toFixed(0)}%)`;
    for (const t of torch.length ? torch : [undefined]) {
      const ok = t && !t.error && t.seconds.length > 0;
      const mismatch = t && t.params !== undefined && t.params !== paw.params ? ` PARAMS DIFFER (${t.params})` : '';
      rows.push([
        w.name,
        `${paw.params}${mismatch}`,
        `${min(paw.seconds).toFixed(3)} / ${median(paw.seconds).toFixed(3)}`,
        t ? t.label : 'torch: skipped',
        ok ? `${min(t.seconds).toFixed(3)} / ${median(t.seconds).toFixed(3)}` : (t?.error ?? 'n/a'),
        ok ? `${(min(paw.seconds) / min(t.seconds)).toFixed(2)} / ${(median(paw.seconds) / median(t.seconds)).toFixed(2)}` : 'n/a',
        gf(median(paw.seconds)),
        ok ? gf(median(t.seconds)) : 'n/a',
      ]);
      json.push({
        workload: w.name, kind: w.kind, weights: w.kind === 'forward' ? w.weights : undefined, params: paw.params, torchParams: t?.params,
        gflop: flops / 1e9, pawprint: { min: min(paw.seconds), median: median(paw.seconds), seconds: paw.seconds },
        torch: t ? { variant: t.label, error: t.error, min: ok ? min(t.seconds) : null, median: ok ? median(t.seconds) : null, seconds: t.seconds } : { skipped: torchSkip },
        ratio: ok ? { min: min(paw.seconds) / min(t.seconds), median: median(paw.seconds) / median(t.seconds) } : null,
        threads: oneThread ? (w.kind === 'train' ? trainThreads : defaultFeatureThreads()) : 1,
        oneThread: oneThread ? { min: min(oneThread.seconds), median: median(oneThread.seconds), seconds: oneThread.seconds,
          ratio: ok ? { min: min(oneThread.seconds) / min(t.seconds), median: median(oneThread.seconds) / median(t.seconds) } : null } : undefined,
        before: before ? { min: min(before.seconds), median: median(before.seconds), seconds: before.seconds,
          ratio: ok ? { min: min(before.seconds) / min(t.seconds), median: median(before.seconds) / median(t.seconds) } : null } : undefined,
      });
      if (oneThread) {
        rows.push([
          `${w.name} (1 thread)`, 'same', `${min(oneThread.seconds).toFixed(3)} / ${median(oneThread.seconds).toFixed(3)}`, t ? t.label : 'torch: skipped',
          ok ? `${min(t.seconds).toFixed(3)} / ${median(t.seconds).toFixed(3)}` : 'n/a',
          ok ? `${(min(oneThread.seconds) / min(t.seconds)).toFixed(2)} / ${(median(oneThread.seconds) / median(t.seconds)).toFixed(2)}` : 'n/a',
          gf(median(oneThread.seconds)), ok ? gf(median(t.seconds)) : 'n/a',
        ]);
      }
      if (before) {
        rows.push([
          `${w.name} (before)`, 'same', `${min(before.seconds).toFixed(3)} / ${median(before.seconds).toFixed(3)}`, t ? t.label : 'torch: skipped',
          ok ? `${min(t.seconds).toFixed(3)} / ${median(t.seconds).toFixed(3)}` : 'n/a',
          ok ? `${(min(before.seconds) / min(t.seconds)).toFixed(2)} / ${(median(before.seconds) / median(t.seconds)).toFixed(2)}` : 'n/a',
          gf(median(before.seconds)), ok ? gf(median(t.seconds)) : 'n/a',
        ]);
      }
    }
  }

  console.log(`\nPawprint vs PyTorch, batch ${BATCH}, ${SIZE}x${SIZE}, ${rounds} rounds x ${stepsPerRound} steps interleaved (seconds per step/batch; ratio = Pawprint / PyTorch, < 1 is faster)`);
  printTable(['workload', 'params', 'pawprint min / median', 'peer', 'peer min / median', 'ratio min / median', 'pawprint GFLOP/s (% peak)', 'peer GFLOP/s (% peak)'], rows);
  console.log(`peak ${peak.gflops.toFixed(0)} GFLOP/s FP32 = ${peak.how}; FLOPs count conv/dense multiply-adds only (training: forward + weight gradient + input gradient except for the first layer)`);
  for (const w of workloads) if (w.kind === 'forward') console.log(`${w.name}: ${w.weights}`);
  for (const n of notes) console.log(n);
  if (torchSkip) console.log(`PyTorch side skipped: ${torchSkip}`);
  console.log(`load average (1/5/15 min) at start ${loadText(loadStart)}, at end ${loadText(os.loadavg())} on ${os.cpus().length} cores (shared machine: compare ratios within a run)`);
  for (const [label, p] of [['', profile], [' without the C kernels (before)', profileBefore]] as const) {
    if (!p) continue;
    const total = p.reduce((a, k) => a + k.ms, 0);
    console.log(`\nPawprint cnn step${label}, one profiled step (tf.profile kernel times):`);
    printTable(['kernel', 'calls', 'ms', 'share'], p.slice(0, 14).map((k) => [k.kernel, String(k.calls), k.ms.toFixed(0), `${((k.ms / total) * 100).toFixed(1)}%`]));
    console.log(`total kernel time ${total.toFixed(0)} ms`);
  }

  const outDir = path.join(ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version?: string };
  writeFileSync(path.join(outDir, 'peer.json'), JSON.stringify({
    bench: 'peer', date: new Date().toISOString(), pawprintVersion: pkg.version, batch: BATCH, imageSize: SIZE, rounds, stepsPerRound,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.versions.node, peakGflops: peak.gflops, peakHow: peak.how, loadAverageStart: loadStart, loadAverageEnd: os.loadavg() },
    pawprintBackend: backend, torch: torchSkip ? { skipped: torchSkip } : { version: torchInfo?.torch, threads: torchInfo?.threads, python: PYTHON },
    nativeKernels: nativeKernelStatus().detail, rows: json, profileCnnStep: profile, profileCnnStepBefore: profileBefore,
  }, null, 2) + '\n');
  console.log(`\nwrote ${path.join('bench-results', 'peer.json')}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
