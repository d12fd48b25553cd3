// Training-step speed of the CNN presets on every backend available here, in one run.
//
//   npx tsx bench/training-speed.ts [--presets cnn,cnn-augment,cnn-normalize] [--steps 3] [--cpu-steps 1]
//                                   [--batch 32] [--size 160] [--no-cpu] [--no-stock] [--out training-speed]
//
// Backends: tfjs-node when it loads; "wasm" = WebAssembly with our kernels (electron/tfjs/backend);
// "wasm-stock" = WebAssembly with its own 4.22 kernels plus only the Conv2DBackpropFilter it lacks (the
// "before" column: without that one kernel conv training cannot run at all); "cpu" = plain JS backend,
// timed on --cpu-steps steps only because one step takes minutes. The step is the trainer's: forward with
// dropout on, sigmoid cross-entropy on logits, Adam update via optimizer.minimize. Inputs are seeded random
// pixels (speed does not depend on image content). Writes bench-results/training-speed.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, type Tensor, type LayersModel } from '../electron/tfjs/tf';
import { buildPresetModel } from '../electron/training/presets';
import { presetDefaults } from '../shared/training-config';
import { selectBackend, type BackendInfo } from '../electron/tfjs/backend/select-backend';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '../electron/tfjs/backend/wasm-gradients';

type Preset = 'cnn' | 'cnn-augment' | 'cnn-normalize';
type Variant = 'tensorflow' | 'wasm' | 'wasm-stock' | 'cpu';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const presets = arg('presets', 'cnn,cnn-augment,cnn-normalize').split(',') as Preset[];
const steps = Number(arg('steps', '3'));
const cpuSteps = Number(arg('cpu-steps', '1'));
const batch = Number(arg('batch', '32'));
const size = Number(arg('size', '160'));
const outName = arg('out', 'training-speed');

interface Row {
  preset: Preset;
  backend: Variant;
  steps: number;
  warmup: boolean;
  secondsPerStep: number;
  /** Process CPU seconds per step: less sensitive than wall time to other jobs on this shared machine. */
  cpuSecondsPerStep: number;
  imagesPerSecond: number;
  stepSeconds: number[];
  finalLoss: number;
  /** Tensor count growth over the timed steps; null without a warm-up (the first step creates Adam's state). */
  leakedTensors: number | null;
  topKernels?: { kernel: string; ms: number }[];
}

function makeModel(preset: Preset): LayersModel {
  const config = { ...presetDefaults(preset), imageSize: { height: size, width: size } };
  return buildPresetModel(config, 2);
}

function makeBatch(): { xs: Tensor; ys: Tensor } {
  return tf.tidy(() => ({
    xs: tf.randomUniform([batch, size, size, 3], 0, 255, 'float32', 7),
    ys: tf.cast(tf.greater(tf.randomUniform([batch, 1], 0, 1, 'float32', 8), 0.5), 'float32'),
  }));
}

function trainStep(model: LayersModel, optimizer: import('@tensorflow/tfjs').Optimizer, xs: Tensor, ys: Tensor): number {
  const loss = optimizer.minimize(() => {
    const logits = model.apply(xs, { training: true }) as Tensor;
    return tf.losses.sigmoidCrossEntropy(ys, logits) as import('@tensorflow/tfjs').Scalar;
  }, true);
  if (!loss) throw new Error('no loss returned');
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}

async function profileStep(model: LayersModel, optimizer: import('@tensorflow/tfjs').Optimizer, xs: Tensor, ys: Tensor) {
  const info = await tf.profile(() => {
    trainStep(model, optimizer, xs, ys);
  });
  const byKernel = new Map<string, number>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + ms);
  }
  return [...byKernel.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([kernel, ms]) => ({ kernel, ms: Math.round(ms) }));
}

async function measure(preset: Preset, backend: Variant, n: number, warmup: boolean, profile: boolean): Promise<Row> {
  const model = makeModel(preset);
  const optimizer = tf.train.adam(1e-3);
  const { xs, ys } = makeBatch();
  if (warmup) trainStep(model, optimizer, xs, ys);
  const before = tf.memory().numTensors;
  const times: number[] = [];
  let loss = NaN;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    loss = trainStep(model, optimizer, xs, ys);
    times.push((performance.now() - t0) / 1000);
  }
  const cpu = process.cpuUsage(cpu0);
  const leaked = warmup ? tf.memory().numTensors - before : null;
  const topKernels = profile ? await profileStep(model, optimizer, xs, ys) : undefined;
  tf.dispose([xs, ys]);
  optimizer.dispose();
  model.dispose();
  const secondsPerStep = times.reduce((a, b) => a + b, 0) / times.length;
  return {
    preset, backend, steps: n, warmup, secondsPerStep,
    cpuSecondsPerStep: (cpu.user + cpu.system) / 1e6 / n,
    imagesPerSecond: batch / secondsPerStep,
    stepSeconds: times.map((t) => Number(t.toFixed(3))), finalLoss: loss, leakedTensors: leaked, topKernels,
  };
}

async function main(): Promise<void> {
  const loadStart = os.loadavg()[0];
  const rows: Row[] = [];
  const backends: { variant: Variant; info?: BackendInfo; skipped?: string }[] = [];

  try {
    backends.push({ variant: 'tensorflow', info: await selectBackend('node') });
  } catch (e) {
    backends.push({ variant: 'tensorflow', skipped: e instanceof Error ? e.message : String(e) });
  }
  const wasmInfo = await selectBackend('wasm');
  backends.push({ variant: 'wasm', info: wasmInfo });
  if (!flag('no-stock')) backends.push({ variant: 'wasm-stock' });
  if (!flag('no-cpu')) backends.push({ variant: 'cpu' });

  for (const preset of presets) {
    for (const b of backends) {
      if (b.skipped) continue;
      if (b.variant === 'tensorflow') await tf.setBackend('tensorflow');
      if (b.variant === 'wasm' || b.variant === 'wasm-stock') {
        await tf.setBackend('wasm');
        unregisterWasmTrainingKernels();
        // Stock: the 4.22 kernels plus only the one conv training cannot run without.
        registerWasmTrainingKernels(b.variant === 'wasm-stock' ? ['Conv2DBackpropFilter'] : undefined);
      }
      if (b.variant === 'cpu') await tf.setBackend('cpu');
      const isCpu = b.variant === 'cpu';
      const isStock = b.variant === 'wasm-stock';
      const n = isCpu ? cpuSteps : isStock ? 1 : steps;
      process.stdout.write(`${preset} on ${b.variant}: ${n} step(s)${isCpu ? ' (no warm-up)' : ' after 1 warm-up'}... `);
      const row = await measure(preset, b.variant, n, !isCpu, b.variant === 'wasm' && preset === 'cnn');
      console.log(`${row.secondsPerStep.toFixed(2)} s/step wall, ${row.cpuSecondsPerStep.toFixed(2)} s/step CPU time`);
      rows.push(row);
    }
  }

  const cpuOf = (preset: Preset) => rows.find((r) => r.preset === preset && r.backend === 'cpu');
  console.log(`\nTraining step, batch ${batch}, ${size}x${size}x3 (mean of the timed steps)`);
  console.log('preset         backend      s/step  cpu-s/step   images/s   speed-up vs cpu   leaked tensors');
  for (const r of rows) {
    const cpu = cpuOf(r.preset);
    const ratio = cpu ? `${(cpu.secondsPerStep / r.secondsPerStep).toFixed(1)}x` : 'n/a';
    console.log(
      `${r.preset.padEnd(14)} ${r.backend.padEnd(12)} ${r.secondsPerStep.toFixed(2).padStart(6)} ${r.cpuSecondsPerStep.toFixed(2).padStart(11)} ${r.imagesPerSecond.toFixed(1).padStart(10)} ${ratio.padStart(17)} ${String(r.leakedTensors ?? 'n/a').padStart(16)}`,
    );
  }
  console.log(`load average (1 min) at start ${loadStart.toFixed(1)}, at end ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
  const top = rows.find((r) => r.topKernels)?.topKernels;
  if (top) {
    console.log('\nwasm, cnn preset, one profiled step: time by kernel (ms)');
    for (const k of top) console.log(`  ${k.kernel.padEnd(28)} ${String(k.ms).padStart(6)}`);
  }
  for (const b of backends) if (b.skipped) console.log(`\n${b.variant} skipped: ${b.skipped}`);

  const out = path.join(process.cwd(), 'bench-results');
  mkdirSync(out, { recursive: true });
  const result = {
    bench: 'training-speed',
    date: new Date().toISOString(),
    batch,
    imageSize: size,
    steps: { wasm: steps, wasmStock: 1, cpu: cpuSteps },
    machine: { cpus: os.cpus().length, node: process.versions.node, loadAverageStart: loadStart, loadAverageEnd: os.loadavg()[0] },
    backends: backends.map((b) => ({ variant: b.variant, info: b.info, skipped: b.skipped })),
    rows: rows.map((r) => ({ ...r, speedupVsCpu: cpuOf(r.preset) ? cpuOf(r.preset)!.secondsPerStep / r.secondsPerStep : null })),
  };
  writeFileSync(path.join(out, `${outName}.json`), JSON.stringify(result, null, 2));
  console.log(`\nwrote ${path.join(out, `${outName}.json`)}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
