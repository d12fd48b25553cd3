// Per-kernel timings of a cnn training step's layers on the WebAssembly backend (issue 16), one thread, at the
// per-thread batch the trainer uses on this machine (32 split across the cores): what bench/peer.ts's profile
// attributes a step's time to, isolated so a kernel change can be measured in seconds instead of a whole run.
//
//   npx tsx bench/peer-kernels.ts [--batch 16] [--repeats 5] [--preset cnn|cnn-augment|cnn-normalize]
//
// Prints the median milliseconds and GFLOP/s per kernel and shape, as this process's CPU time (it runs on one
// thread, so on a shared, loaded machine CPU time says more than wall time) and as wall time;
// PAWPRINT_NATIVE_KERNELS=0 times the fallbacks.
import os from 'node:os';
import { tf, type Tensor } from '../electron/tfjs/tf';
import { selectBackend } from '../electron/tfjs/backend/select-backend';
import { presetLayers } from '../shared/training-config';
import { printTable } from './_table';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const batch = Number(arg('batch', String(Math.max(1, Math.round(32 / os.availableParallelism())))));
const repeats = Number(arg('repeats', '5'));
const preset = arg('preset', 'cnn') as 'cnn' | 'cnn-augment' | 'cnn-normalize';
const SIZE = 160;

interface Timed { kernel: string; shape: string; flops: number; run: () => Tensor }

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

async function main(): Promise<void> {
  const backend = await selectBackend('wasm');
  console.log(`wasm backend: ${backend.nativeKernels ?? 'no C kernels'}; batch ${batch}, ${preset}, ${repeats} repeats`);
  const cases: Timed[] = [];
  const keep: Tensor[] = [];
  const rand = (shape: number[], seed: number) => { const t = tf.randomUniform(shape, -1, 1, 'float32', seed); keep.push(t); return t; };
  let h = SIZE, w = SIZE, c = 3, first = true, seed = 1;
  for (const layer of presetLayers(preset)) {
    if (layer.type === 'conv2d') {
      const [fh, fw, co] = [layer.kernelHeight, layer.kernelWidth, layer.filters];
      const oh = h - fh + 1, ow = w - fw + 1;
      const x = rand([batch, h, w, c], seed++), f = rand([fh, fw, c, co], seed++), dy = rand([batch, oh, ow, co], seed++);
      const flops = 2 * batch * oh * ow * fh * fw * c * co;
      const shape = `${batch}x${h}x${w}x${c} * ${fh}x${fw}x${c}x${co}`;
      const conv = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] };
      cases.push({ kernel: 'Conv2D', shape, flops, run: () => tf.engine().runKernel('Conv2D', { x, filter: f }, conv) as Tensor });
      cases.push({ kernel: 'Conv2DBackpropFilter', shape, flops, run: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...conv, filterShape: [fh, fw, c, co] }) as Tensor });
      const inputShape = [batch, h, w, c]; // h, w, c change below; the closure must not see that
      if (!first) cases.push({ kernel: 'Conv2DBackpropInput', shape, flops, run: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...conv, inputShape }) as Tensor });
      const y = rand([batch, oh, ow, co], seed++);
      const bias = rand([co], seed++);
      cases.push({ kernel: 'BiasAdd+Relu (fused conv epilogue)', shape: `${batch}x${oh}x${ow}x${co}`, flops: 0, run: () => tf.relu(tf.add(y, bias)) });
      // tfjs's relu gradient: dy * cast(step(x)) (three passes on wasm, which has no ReluGrad kernel).
      cases.push({ kernel: 'Relu gradient (Step, Cast, Multiply)', shape: `${batch}x${oh}x${ow}x${co}`, flops: 0, run: () => tf.tidy(() => tf.mul(y, tf.cast(tf.step(y), 'float32'))) });
      cases.push({ kernel: 'Identity (tape saves)', shape: `${batch}x${oh}x${ow}x${co}`, flops: 0, run: () => tf.engine().runKernel('Identity', { x: y }, {}) as Tensor });
      cases.push({ kernel: 'Sum (bias gradient)', shape: `${batch}x${oh}x${ow}x${co}`, flops: 0, run: () => tf.sum(y, [0, 1, 2]) });
      h = oh; w = ow; c = co; first = false;
    } else if (layer.type === 'maxPool') {
      const x = rand([batch, h, w, c], seed++);
      const oh = Math.floor(h / 2), ow = Math.floor(w / 2);
      const dy = rand([batch, oh, ow, c], seed++);
      const y = tf.maxPool(x as import('@tensorflow/tfjs').Tensor4D, 2, 2, 'valid');
      keep.push(y);
      cases.push({ kernel: 'MaxPool', shape: `${batch}x${h}x${w}x${c}`, flops: 0, run: () => tf.maxPool(x as import('@tensorflow/tfjs').Tensor4D, 2, 2, 'valid') });
      cases.push({ kernel: 'MaxPoolGrad', shape: `${batch}x${h}x${w}x${c}`, flops: 0, run: () => tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: [2, 2], strides: [2, 2], pad: 'valid' }) as Tensor });
      h = oh; w = ow;
    } else if (layer.type === 'flatten') {
      c = h * w * c; h = 1; w = 1;
    } else if (layer.type === 'dense') {
      const x = rand([batch, c], seed++), wt = rand([c, layer.units], seed++), dy = rand([batch, layer.units], seed++);
      const flops = 2 * batch * c * layer.units;
      const shape = `${batch}x${c} * ${c}x${layer.units}`;
      cases.push({ kernel: 'MatMul (dense forward)', shape, flops, run: () => tf.matMul(x, wt) });
      cases.push({ kernel: 'MatMul x^T dy (dense kernel grad)', shape, flops, run: () => tf.matMul(x, dy, true, false) });
      cases.push({ kernel: 'MatMul dy W^T (dense input grad)', shape, flops, run: () => tf.matMul(dy, wt, false, true) });
      c = layer.units;
    }
  }
  const rows: string[][] = [];
  let total = 0;
  for (const k of cases) {
    k.run().dispose(); // warm-up (code tiering, heap growth)
    k.run().dispose();
    const cpu: number[] = [];
    const wall: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      // tfjs-backend-wasm runs kernels synchronously: the output exists when run() returns (no dataSync,
      // which would time a copy of the whole output to JavaScript).
      const out = k.run();
      wall.push(performance.now() - t0);
      const used = process.cpuUsage(c0);
      cpu.push((used.user + used.system) / 1000);
      out.dispose();
    }
    const m = median(cpu);
    total += m;
    rows.push([k.kernel, k.shape, m.toFixed(1), median(wall).toFixed(1), k.flops ? (k.flops / m / 1e6).toFixed(1) : '']);
  }
  printTable(['kernel', 'shape', 'CPU ms', 'wall ms', 'GFLOP/s (CPU time)'], rows);
  console.log(`sum of CPU medians ${total.toFixed(0)} ms; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  tf.dispose(keep);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
