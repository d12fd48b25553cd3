// Kernels that make the WebAssembly backend (tfjs-backend-wasm 4.22) a training backend.
//
// Added (missing in 4.22, so conv training throws there):
//   Conv2DBackpropFilter (forward XNNPACK conv over transposed tensors, ~0.2 s per cnn layer),
//   DepthwiseConv2dNativeBackpropInput (XNNPACK depthwise conv for multiplier 1, else a loop),
//   DepthwiseConv2dNativeBackpropFilter (loop over the heap: ~0.2 s for 32x40x40x144; a per-tap
//   slice/multiply/sum version measured slower, strided slices on wasm being very slow).
// Replaced (present but far too slow for training; measured on this machine, cnn preset shapes):
//   Conv2DBackpropInput  C++ reference loop, 2.0 s for 32x79x79x32 -> forward conv (XNNPACK) ~0.17 s
//   MaxPoolGrad          C++ reference loop, 0.61 s for 32x158x158x32 -> first-max routing in JS ~0.12 s
//   Sum                  transposes first when reducing leading axes (bias gradients), ~0.1 s for
//                        32x158x158x32 -> one XNNPACK average pool ~0.01 s; other reductions unchanged.
//   BatchMatMul          with transposeA/B takes a slow non-XNNPACK path (dense gradients, ~40 ms) ->
//                        explicit transpose + untransposed matMul (~10 ms).
//   Identity, Cast       (same dtype) copy the buffer -> share it with one more reference (the tape's clones).
//   BatchMatMul, Add     (a per-channel bias) -> Pawprint's C kernels when built (native-kernels.ts).
//   FusedConv2D          1x1 stride 1 (inference: MobileNetV2's expand and project layers) -> Pawprint's C
//                        pointwise kernel with bias and relu/relu6 when built (~1.5x XNNPACK's).
// Gradients stay the stock tfjs ones: we register kernels for the 'wasm' backend only, so CPU and
// tfjs-node are untouched and each kernel can be checked numerically against the CPU backend's.
import { tf } from '../tf';
import {
  cropForPads,
  dilateNhwc,
  f32,
  originalKernel,
  release,
  rememberOriginal,
  reshape,
  runWasm,
  swapOuterAndChannels,
  type KernelConfig,
  type TensorInfo,
  type WasmBackend,
} from './wasm-kernel-utils';
import { nativeKernels, type NativeConvKernels } from './native-kernels';

type Conv2DInfo = import('@tensorflow/tfjs').backend_util.Conv2DInfo;
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];

const BACKEND = 'wasm';

function argsOf(args: KernelArgs): { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> } {
  return {
    inputs: args.inputs as Record<string, TensorInfo>,
    backend: args.backend as unknown as WasmBackend,
    attrs: (args.attrs ?? {}) as Record<string, unknown>,
  };
}

/** Gradient of an empty convolution: zeros of the requested shape (kernels below assume non-empty data). */
function zerosIfEmpty(backend: WasmBackend, outShape: number[], ...involved: number[][]): TensorInfo | null {
  const empty = [outShape, ...involved].some((shape) => shape.some((d) => d === 0));
  if (!empty) return null;
  const out = backend.makeOutput(outShape, 'float32');
  if (outShape.every((d) => d > 0)) f32(backend, out).fill(0);
  return out;
}

type Pad = 'valid' | 'same' | number | import('@tensorflow/tfjs').backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Pair = number | [number, number];

function convInfo(
  xShape: number[],
  filterShape: number[],
  strides: Pair,
  dilations: Pair,
  pad: Pad,
  rounding: Rounding,
  depthwise: boolean,
  dataFormat?: unknown,
): Conv2DInfo {
  const fmt = tf.backend_util.convertConv2DDataFormat((dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC');
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    rounding,
    depthwise,
    fmt,
  );
  return info;
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter: with Pawprint's C kernel when built (see native-kernels.ts), else:
// dW[kh,kw,ci,co] = sum_{n,oh,ow} xpad[n, oh*s+kh, ow*s+kw, ci] * dy[n,oh,ow,co].
// That is a forward convolution of x^T [ci,H,W,N] with dy^T [oH,oW,N,co] as the filter, dilated by the
// stride, whose output [ci,fh,fw,co] is dW transposed. XNNPACK runs it at ~7 GFLOP/s here, where the
// wasm Conv3DBackpropFilterV2 reference loop (depth 1) took 20 s and im2col+matMul 2 s.
function conv2DBackpropFilter(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = argsOf(args);
  const { x, dy } = inputs;
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs.strides as Pair, 1, attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding, false, attrs.dataFormat);
  if (info.dataFormat !== 'channelsLast') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const empty = zerosIfEmpty(backend, filterShape, x.shape, dy.shape);
  if (empty) return empty;
  const { strideHeight: sH, strideWidth: sW, filterHeight: fh, filterWidth: fw, padInfo } = info;
  const { inHeight: H, inWidth: W, outHeight: oH, outWidth: oW } = info;
  const native = nativeKernels(args.backend);
  if (native && x.dtype === 'float32' && dy.dtype === 'float32') {
    // Pawprint's C kernel (native/conv-kernels.c): direct sums in place on the heap, no transposes.
    const dw = backend.makeOutput(filterShape, 'float32');
    // Offsets read after makeOutput, which may grow the heap (offsets stay valid; views would not).
    native.conv2d_backprop_filter(f32(backend, x).byteOffset, f32(backend, dy).byteOffset, f32(backend, dw).byteOffset,
      info.batchSize, H, W, info.inChannels, oH, oW, info.outChannels, fh, fw, sH, sW, padInfo.top, padInfo.left);
    return dw;
  }
  // Pads chosen so the output is exactly fh x fw; negative means rows/cols the forward conv never read.
  const bottom = fh - H - padInfo.top + (oH - 1) * sH;
  const right = fw - W - padInfo.left + (oW - 1) * sW;
  const xt = swapOuterAndChannels(backend, x);
  const cropped = cropForPads(backend, xt, { top: padInfo.top, bottom, left: padInfo.left, right });
  // [1,2,0,3] keeps the channel axis innermost, a row copy the wasm Transpose does fast.
  const dyt = runWasm(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const conv = runWasm(backend, 'Conv2D', { x: cropped.x, filter: dyt }, {
    strides: [1, 1], pad: cropped.pad, dataFormat: 'NHWC', dilations: [sH, sW], dimRoundingMode: undefined,
  });
  const dw = runWasm(backend, 'Transpose', { x: conv }, { perm: [1, 2, 0, 3] });
  release(backend, xt, cropped.x, dyt, conv);
  return dw;
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropInput: dx = correlation of the stride-dilated dy with the spatially flipped filter
// (in/out channels swapped), padded by fh-1-padTop. Stride 1 needs no dilation at all.
function conv2DBackpropInput(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = argsOf(args);
  const { dy, filter } = inputs;
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, filter.shape, attrs.strides as Pair, 1, attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding, false, attrs.dataFormat);
  if (info.dataFormat !== 'channelsLast') {
    const original = originalKernel('Conv2DBackpropInput');
    if (!original) throw new Error('Conv2DBackpropInput: NCHW is not supported on wasm');
    return original.kernelFunc(args) as TensorInfo;
  }
  const empty = zerosIfEmpty(backend, inputShape, dy.shape, filter.shape);
  if (empty) return empty;
  const native = nativeKernels(args.backend);
  // The C kernel vectorises over 8 output (here: input) channels; other counts stay with XNNPACK.
  if (native && info.strideHeight === 1 && info.strideWidth === 1 && info.inChannels % 8 === 0 && dy.dtype === 'float32' && filter.dtype === 'float32') {
    return backpropInputNative(native, backend, dy, filter, info);
  }
  return backpropInputByForwardConv(backend, dy, filter, info, false);
}

// Stride 1: dx is the "full" correlation of dy with the filter flipped in space and with in/out channels
// swapped, padded by fh-1-padTop / fw-1-padLeft, run by the C forward kernel straight into dx.
function backpropInputNative(native: NativeConvKernels, backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { filterHeight: fh, filterWidth: fw, inChannels: C, outChannels: CO, padInfo } = info;
  const flipped = backend.makeOutput([fh, fw, CO, C], 'float32');
  const dx = backend.makeOutput([info.batchSize, info.inHeight, info.inWidth, C], 'float32');
  const w = f32(backend, filter);
  const wf = f32(backend, flipped);
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      const src = ((fh - 1 - kh) * fw + (fw - 1 - kw)) * C * CO;
      const dst = (kh * fw + kw) * CO * C;
      for (let ci = 0; ci < C; ci++) for (let co = 0; co < CO; co++) wf[dst + co * C + ci] = w[src + ci * CO + co];
    }
  }
  if (isPointwise(info)) {
    native.conv2d_pointwise(f32(backend, dy).byteOffset, wf.byteOffset, 0, f32(backend, dx).byteOffset,
      info.batchSize * info.inHeight * info.inWidth, CO, C, 0);
  } else {
    native.conv2d_forward(f32(backend, dy).byteOffset, wf.byteOffset, f32(backend, dx).byteOffset, info.batchSize,
      info.outHeight, info.outWidth, CO, info.inHeight, info.inWidth, C, fh, fw, 1, 1, fh - 1 - padInfo.top, fw - 1 - padInfo.left);
  }
  release(backend, flipped);
  return dx;
}

// ---------------------------------------------------------------------------------------------
// Conv2D (forward): Pawprint's C kernel for float32 NHWC undilated convs with 8k output channels when built
// (measured 3.5x XNNPACK on the presets' 3-channel first layer, 1.4-2x on their 32-channel layers; 1x1 stride-1
// convs, as in MobileNetV2 fine-tuning, through the pointwise kernel, 1.1-1.5x the general one); anything else goes
// to the original.
function conv2D(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = argsOf(args);
  const { x, filter } = inputs;
  const original = originalKernel('Conv2D');
  if (!original) throw new Error('original wasm Conv2D kernel missing');
  const native = nativeKernels(args.backend);
  const dilations = (attrs.dilations as Pair | undefined) ?? 1;
  if (!native || x.dtype !== 'float32' || filter.dtype !== 'float32' || (attrs.dataFormat ?? 'NHWC') !== 'NHWC' || x.shape.length !== 4) {
    return original.kernelFunc(args) as TensorInfo;
  }
  const info = convInfo(x.shape, filter.shape, attrs.strides as Pair, dilations, attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding, false, attrs.dataFormat);
  // Vectorised over 8 output channels at a time.
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.outChannels % 8 !== 0) {
    return original.kernelFunc(args) as TensorInfo;
  }
  const outShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  const empty = zerosIfEmpty(backend, outShape, x.shape, filter.shape);
  if (empty) return empty;
  const y = backend.makeOutput(outShape, 'float32');
  if (isPointwise(info)) {
    native.conv2d_pointwise(f32(backend, x).byteOffset, f32(backend, filter).byteOffset, 0, f32(backend, y).byteOffset,
      info.batchSize * info.outHeight * info.outWidth, info.inChannels, info.outChannels, 0);
    return y;
  }
  native.conv2d_forward(f32(backend, x).byteOffset, f32(backend, filter).byteOffset, f32(backend, y).byteOffset,
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
  return y;
}

/** A 1x1, stride-1, unpadded convolution: a product of [pixels, C] and [C, CO] (conv2d_pointwise). */
function isPointwise(info: Conv2DInfo): boolean {
  const p = info.padInfo;
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1
    && p.top + p.bottom + p.left + p.right === 0;
}

// FusedConv2D (inference: tfjs fuses bias and activation only when no gradient is recorded): 1x1, stride-1 convs,
// most of the frozen MobileNetV2 forward's arithmetic, run in C with the bias and activation in registers when
// built; anything else (other filters, prelu / leaky relu / sigmoid, other bias shapes) goes to the original.
const POINTWISE_ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };

function fusedConv2D(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = argsOf(args);
  const original = originalKernel('FusedConv2D');
  if (!original) throw new Error('original wasm FusedConv2D kernel missing');
  const native = nativeKernels(args.backend);
  const { x, filter, bias, preluActivationWeights } = inputs;
  const act = POINTWISE_ACTIVATIONS[(attrs.activation as string | undefined) ?? 'linear'];
  const pointwise = native && act !== undefined && !preluActivationWeights && x.dtype === 'float32' && filter.dtype === 'float32'
    && (attrs.dataFormat ?? 'NHWC') === 'NHWC' && x.shape.length === 4 && filter.shape.length === 4 && filter.shape[3]! % 8 === 0 && (!bias || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === filter.shape[3]));
  if (!pointwise) return original.kernelFunc(args) as TensorInfo;
  const info = convInfo(x.shape, filter.shape, attrs.strides as Pair, (attrs.dilations as Pair | undefined) ?? 1, attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding, false, attrs.dataFormat);
  if (!isPointwise(info)) return original.kernelFunc(args) as TensorInfo;
  const outShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  const empty = zerosIfEmpty(backend, outShape, x.shape, filter.shape);
  if (empty) return empty;
  const y = backend.makeOutput(outShape, 'float32');
  native.conv2d_pointwise(f32(backend, x).byteOffset, f32(backend, filter).byteOffset, bias ? f32(backend, bias).byteOffset : 0,
    f32(backend, y).byteOffset, info.batchSize * info.outHeight * info.outWidth, info.inChannels, info.outChannels, act);
  return y;
}

function backpropInputByForwardConv(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: Conv2DInfo,
  depthwise: boolean,
): TensorInfo {
  const { strideHeight: sH, strideWidth: sW, filterHeight: fh, filterWidth: fw, padInfo } = info;
  const { inHeight: H, inWidth: W, outHeight: oH, outWidth: oW } = info;
  const dyd = dilateNhwc(backend, dy, sH, sW);
  const top = fh - 1 - padInfo.top;
  const left = fw - 1 - padInfo.left;
  const bottom = H + fh - 1 - top - ((oH - 1) * sH + 1);
  const right = W + fw - 1 - left - ((oW - 1) * sW + 1);
  const cropped = cropForPads(backend, dyd, { top, bottom, left, right });
  const flipped = runWasm(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  let dx: TensorInfo;
  if (depthwise) {
    dx = runWasm(backend, 'DepthwiseConv2dNative', { x: cropped.x, filter: flipped }, {
      strides: [1, 1], pad: cropped.pad, dilations: [1, 1], dimRoundingMode: undefined, dataFormat: 'NHWC',
    });
    release(backend, flipped);
  } else {
    const swapped = runWasm(backend, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
    dx = runWasm(backend, 'Conv2D', { x: cropped.x, filter: swapped }, {
      strides: [1, 1], pad: cropped.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined,
    });
    release(backend, flipped, swapped);
  }
  release(backend, dyd, cropped.x);
  return dx;
}

// ---------------------------------------------------------------------------------------------
// Depthwise gradients. MobileNetV2 uses channel multiplier 1 and no dilation: dx then is a depthwise
// forward conv (XNNPACK). Other multipliers/dilations, and the filter gradient, are direct loops over
// the wasm heap (float64 accumulation for the filter sums, which run over N*oH*oW terms).
function depthwiseBackpropInput(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = argsOf(args);
  const { dy, filter } = inputs;
  const inputShape = attrs.inputShape as number[];
  const dilations = (attrs.dilations as Pair | undefined) ?? 1;
  const info = convInfo(inputShape, filter.shape, attrs.strides as Pair, dilations, attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding, true);
  const multiplier = filter.shape[3];
  const empty = zerosIfEmpty(backend, inputShape, dy.shape, filter.shape);
  if (empty) return empty;
  if (multiplier === 1 && info.dilationHeight === 1 && info.dilationWidth === 1) {
    return backpropInputByForwardConv(backend, dy, filter, info, true);
  }
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW } = info;
  const { strideHeight: sH, strideWidth: sW, dilationHeight: dH, dilationWidth: dW, padInfo } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const out = backend.makeOutput(inputShape, 'float32');
  const dyv = f32(backend, dy);
  const wv = f32(backend, filter);
  const dxv = f32(backend, out);
  dxv.fill(0);
  const oC = C * multiplier;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < oH; oh++) {
      for (let ow = 0; ow < oW; ow++) {
        const dyBase = ((n * oH + oh) * oW + ow) * oC;
        for (let kh = 0; kh < fh; kh++) {
          const xr = oh * sH - padInfo.top + kh * dH;
          if (xr < 0 || xr >= H) continue;
          for (let kw = 0; kw < fw; kw++) {
            const xc = ow * sW - padInfo.left + kw * dW;
            if (xc < 0 || xc >= W) continue;
            const dxBase = ((n * H + xr) * W + xc) * C;
            const wBase = (kh * fw + kw) * oC;
            for (let c = 0; c < C; c++) {
              let acc = 0;
              for (let q = 0; q < multiplier; q++) acc += dyv[dyBase + c * multiplier + q] * wv[wBase + c * multiplier + q];
              dxv[dxBase + c] += acc;
            }
          }
        }
      }
    }
  }
  return out;
}

function depthwiseBackpropFilter(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = argsOf(args);
  const { x, dy } = inputs;
  const filterShape = attrs.filterShape as number[];
  const dilations = (attrs.dilations as Pair | undefined) ?? 1;
  const info = convInfo(x.shape, filterShape, attrs.strides as Pair, dilations, attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding, true);
  const multiplier = filterShape[3];
  const empty = zerosIfEmpty(backend, filterShape, x.shape, dy.shape);
  if (empty) return empty;
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW } = info;
  const { strideHeight: sH, strideWidth: sW, dilationHeight: dH, dilationWidth: dW, padInfo } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const oC = C * multiplier;
  const acc = new Float64Array(fh * fw * oC);
  const out = backend.makeOutput(filterShape, 'float32');
  const xv = f32(backend, x);
  const dyv = f32(backend, dy);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < oH; oh++) {
      for (let ow = 0; ow < oW; ow++) {
        const dyBase = ((n * oH + oh) * oW + ow) * oC;
        for (let kh = 0; kh < fh; kh++) {
          const xr = oh * sH - padInfo.top + kh * dH;
          if (xr < 0 || xr >= H) continue;
          for (let kw = 0; kw < fw; kw++) {
            const xc = ow * sW - padInfo.left + kw * dW;
            if (xc < 0 || xc >= W) continue;
            const xBase = ((n * H + xr) * W + xc) * C;
            const wBase = (kh * fw + kw) * oC;
            if (multiplier === 1) {
              for (let c = 0; c < C; c++) acc[wBase + c] += xv[xBase + c] * dyv[dyBase + c];
            } else {
              for (let c = 0; c < C; c++) {
                const xval = xv[xBase + c];
                for (let q = 0; q < multiplier; q++) acc[wBase + c * multiplier + q] += xval * dyv[dyBase + c * multiplier + q];
              }
            }
          }
        }
      }
    }
  }
  f32(backend, out).set(acc);
  return out;
}

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad: route each dy to the first maximum of its window (row-major, strict '>', as the CPU
// backend does), summing where windows overlap. One pass over the input with a per-channel argmax.
function maxPoolGrad(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = argsOf(args);
  const { dy, input } = inputs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as Pair,
    attrs.strides as Pair,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
  );
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW } = info;
  const { strideHeight: sH, strideWidth: sW, dilationHeight: dH, dilationWidth: dW, padInfo } = info;
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  if (fh === 2 && fw === 2 && sH === 2 && sW === 2 && padInfo.top === 0 && padInfo.left === 0) {
    const native = nativeKernels(args.backend);
    if (native && C % 4 === 0 && input.dtype === 'float32' && dy.dtype === 'float32') {
      // The same rule four channels at a time in C (native/conv-kernels.c).
      const out = backend.makeOutput(input.shape, 'float32');
      native.max_pool_grad_2x2(f32(backend, input).byteOffset, f32(backend, dy).byteOffset, f32(backend, out).byteOffset, N, H, W, C, oH, oW);
      return out;
    }
    return maxPoolGrad2x2(backend, input, dy, info);
  }
  const out = backend.makeOutput(input.shape, 'float32');
  const xv = f32(backend, input);
  const dyv = f32(backend, dy);
  const dxv = f32(backend, out);
  dxv.fill(0);
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < oH; oh++) {
      const r0 = oh * sH - padInfo.top;
      for (let ow = 0; ow < oW; ow++) {
        const c0 = ow * sW - padInfo.left;
        best.fill(Number.NEGATIVE_INFINITY);
        where.fill(-1);
        for (let kh = 0; kh < fh; kh += dH) {
          const r = r0 + kh;
          if (r < 0 || r >= H) continue;
          for (let kw = 0; kw < fw; kw += dW) {
            const col = c0 + kw;
            if (col < 0 || col >= W) continue;
            const base = ((n * H + r) * W + col) * C;
            for (let c = 0; c < C; c++) {
              const v = xv[base + c];
              if (v > best[c]) {
                best[c] = v;
                where[c] = base + c;
              }
            }
          }
        }
        const dyBase = ((n * oH + oh) * oW + ow) * C;
        for (let c = 0; c < C; c++) {
          const at = where[c];
          if (at >= 0) dxv[at] += dyv[dyBase + c];
        }
      }
    }
  }
  return out;
}

// The presets' pooling (2x2, stride 2, no padding): windows do not overlap, so each window stores its dy
// once, at its first maximum, into a zero-filled dx.
function maxPoolGrad2x2(
  backend: WasmBackend,
  input: TensorInfo,
  dy: TensorInfo,
  info: import('@tensorflow/tfjs').backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: oH, outWidth: oW } = info;
  const out = backend.makeOutput(input.shape, 'float32');
  const xv = f32(backend, input);
  const dyv = f32(backend, dy);
  const dxv = f32(backend, out);
  // One native fill, then a single store per window (cheaper in JS than four conditional stores).
  dxv.fill(0);
  const rowStride = W * C;
  let g = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < oH; oh++) {
      let p00 = (n * H + 2 * oh) * rowStride;
      for (let ow = 0; ow < oW; ow++, p00 += 2 * C) {
        const p01 = p00 + C;
        const p10 = p00 + rowStride;
        const p11 = p10 + C;
        for (let c = 0; c < C; c++, g++) {
          const a = xv[p00 + c];
          const b = xv[p01 + c];
          const d = xv[p10 + c];
          const e = xv[p11 + c];
          const grad = dyv[g];
          // First maximum in row-major window order with strict '>' from -Infinity: the CPU backend's rule,
          // including ties, NaN (never a maximum) and all -Infinity windows (no gradient).
          let which = -1;
          let best = Number.NEGATIVE_INFINITY;
          if (a > best) { best = a; which = 0; }
          if (b > best) { best = b; which = 1; }
          if (d > best) { best = d; which = 2; }
          if (e > best) { which = 3; }
          if (which === 0) dxv[p00 + c] = grad;
          else if (which === 1) dxv[p01 + c] = grad;
          else if (which === 2) dxv[p10 + c] = grad;
          else if (which === 3) dxv[p11 + c] = grad;
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sum over leading axes (the bias gradient of every conv/dense layer). The wasm Sum first transposes
// the reduced axes innermost with its generic Transpose (~0.1 s for 32x158x158x32); a matMul with a
// ones row is no better because XNNPACK re-packs the big operand as weights on every call. An average
// pool over the whole leading block (XNNPACK, SIMD) times its size takes ~0.01 s. Anything else goes to
// the original kernel.
function sum(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = argsOf(args);
  const { x } = inputs;
  const original = originalKernel('Sum');
  if (!original) throw new Error('original wasm Sum kernel missing');
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading) return original.kernelFunc(args) as TensorInfo;
  const innerShape = x.shape.slice(axes.length);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  // Window = [product of all leading axes but the last, last leading axis].
  const rows = x.shape.slice(0, axes.length - 1).reduce((a, b) => a * b, 1);
  const cols = x.shape[axes.length - 1];
  if (rows * cols === 0 || inner === 0) return original.kernelFunc(args) as TensorInfo;
  const x4 = reshape(backend, x, [1, rows, cols, inner]);
  const pooled = runWasm(backend, 'AvgPool', { x: x4 }, { filterSize: [rows, cols], strides: [1, 1], pad: 'valid', dimRoundingMode: undefined });
  const outShape = attrs.keepDims ? [...axes.map(() => 1), ...innerShape] : innerShape;
  const out = backend.makeOutput(outShape, 'float32');
  const count = rows * cols;
  const src = f32(backend, pooled);
  const dst = f32(backend, out);
  for (let i = 0; i < inner; i++) dst[i] = src[i] * count;
  release(backend, x4, pooled);
  return out;
}

// ---------------------------------------------------------------------------------------------
// BatchMatMul: Pawprint's C kernels when built (the wasm kernel re-packs B as XNNPACK weights on every call:
// ~0.2 s for a cnn Dense layer's 16x10368 . 10368x128 whose arithmetic takes a few ms). Without them,
// transposeA/transposeB (the dense layers' gradients) take the wasm backend's slow non-XNNPACK path (~40 ms
// for 32x10368x128 here vs ~10 ms untransposed), so the operand is transposed first.
function batchMatMul(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = argsOf(args);
  const original = originalKernel('BatchMatMul');
  if (!original) throw new Error('original wasm BatchMatMul kernel missing');
  const { transposeA, transposeB } = attrs as { transposeA?: boolean; transposeB?: boolean };
  const native = nativeKernels(args.backend);
  if (native && !(transposeA && transposeB)) {
    const out = batchMatMulNative(native, backend, inputs.a, inputs.b, Boolean(transposeA), Boolean(transposeB));
    if (out) return out;
  }
  if ((!transposeA && !transposeB) || inputs.a.dtype !== 'float32' || inputs.b.dtype !== 'float32') {
    return original.kernelFunc(args) as TensorInfo;
  }
  const swapLast = (t: TensorInfo): TensorInfo => {
    const r = t.shape.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return runWasm(backend, 'Transpose', { x: t }, { perm });
  };
  const a = transposeA ? swapLast(inputs.a) : undefined;
  const b = transposeB ? swapLast(inputs.b) : undefined;
  const out = original.kernelFunc({
    inputs: { a: a ?? inputs.a, b: b ?? inputs.b },
    backend: args.backend,
    attrs: { ...attrs, transposeA: false, transposeB: false },
  }) as TensorInfo;
  release(backend, a, b);
  return out;
}

/**
 * [...batch, M, K] . [...batch, K, N] (either operand transposed in its last two axes; rank 2 is a batch of one;
 * batch shapes equal, or one of them all ones and broadcast) in C, or null for what the kernels do not cover.
 */
function batchMatMulNative(native: NativeConvKernels, backend: WasmBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): TensorInfo | null {
  if (a.shape.length < 2 || b.shape.length < 2 || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const [rowsA, colsA] = a.shape.slice(-2) as [number, number];
  const [rowsB, colsB] = b.shape.slice(-2) as [number, number];
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((p, d) => p * d, 1);
  const batchB = outerB.reduce((p, d) => p * d, 1);
  const M = transposeA ? colsA : rowsA;
  const K = transposeA ? rowsA : colsA;
  const N = transposeB ? rowsB : colsB;
  if ((transposeB ? colsB : rowsB) !== K) return null;
  const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (!sameOuter && batchA !== 1 && batchB !== 1) return null;
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = Math.max(batchA, batchB);
  const out = backend.makeOutput([...outer, M, N], 'float32');
  if (batch * M * N === 0) return out;
  if (K === 0) {
    f32(backend, out).fill(0);
    return out;
  }
  // Offsets read after makeOutput, which may grow the heap.
  const pa = f32(backend, a).byteOffset;
  const pb = f32(backend, b).byteOffset;
  const pc = f32(backend, out).byteOffset;
  for (let i = 0; i < batch; i++) {
    const ai = pa + (batchA === 1 ? 0 : i * M * K * 4);
    const bi = pb + (batchB === 1 ? 0 : i * K * N * 4);
    const ci = pc + i * M * N * 4;
    if (transposeB) native.matmul_nt(ai, bi, ci, M, K, N);
    else native.matmul_nn(ai, bi, ci, M, K, N, transposeA ? 1 : K, transposeA ? M : 1);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Add of a per-channel bias ([..., C] + [C], either order; every conv and dense layer's bias in training, where
// tfjs does not fuse it into the conv) in C when built: one streaming pass, where the wasm kernel's general
// broadcasting Add took about two (~25 ms CPU for a cnn first layer's 16x158x158x32 per thread-step, now ~13).
// Anything else goes to the original.
function add(args: KernelArgs): TensorInfo {
  const { inputs, backend } = argsOf(args);
  const original = originalKernel('Add');
  if (!original) throw new Error('original wasm Add kernel missing');
  const native = nativeKernels(args.backend);
  const { a, b } = inputs;
  if (native && a.dtype === 'float32' && b.dtype === 'float32') {
    const isBiasOf = (bias: TensorInfo, x: TensorInfo) => {
      const C = x.shape[x.shape.length - 1];
      return x.shape.length >= 2 && bias.shape.length === 1 && bias.shape[0] === C && C > 0 && C % 4 === 0;
    };
    const [x, bias] = isBiasOf(b, a) ? [a, b] : isBiasOf(a, b) ? [b, a] : [null, null];
    if (x && bias) {
      const C = bias.shape[0]!;
      const out = backend.makeOutput([...x.shape], 'float32');
      const rows = x.shape.reduce((p, d) => p * d, 1) / C;
      if (rows > 0) native.add_channel_bias(f32(backend, x).byteOffset, f32(backend, bias).byteOffset, f32(backend, out).byteOffset, rows, C);
      return out;
    }
  }
  return original.kernelFunc(args) as TensorInfo;
}

// ---------------------------------------------------------------------------------------------
// Identity and same-dtype Cast: the wasm kernels copy the whole buffer, and training calls them on every big
// activation (the gradient tape clones each tensor it saves; the relu gradient casts a float32 step to
// float32): ~5% of a cnn step. Tensors are immutable and the backend counts references to a buffer (its
// Reshape shares the same way), so the output can be the input's buffer with one more reference.
function shareBuffer(backend: WasmBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

function identity(args: KernelArgs): TensorInfo {
  const { inputs, backend } = argsOf(args);
  const original = originalKernel('Identity');
  if (!original) throw new Error('original wasm Identity kernel missing');
  if (inputs.x.dtype === 'string') return original.kernelFunc(args) as TensorInfo;
  return shareBuffer(backend, inputs.x);
}

function cast(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = argsOf(args);
  const original = originalKernel('Cast');
  if (!original) throw new Error('original wasm Cast kernel missing');
  if (inputs.x.dtype === 'string' || attrs.dtype !== inputs.x.dtype) return original.kernelFunc(args) as TensorInfo;
  return shareBuffer(backend, inputs.x);
}

// ---------------------------------------------------------------------------------------------

interface OurKernel {
  name: string;
  kernelFunc: KernelConfig['kernelFunc'];
}

const OUR_KERNELS: OurKernel[] = [
  { name: 'Conv2DBackpropFilter', kernelFunc: conv2DBackpropFilter },
  { name: 'Conv2DBackpropInput', kernelFunc: conv2DBackpropInput },
  { name: 'Conv2D', kernelFunc: conv2D },
  { name: 'FusedConv2D', kernelFunc: fusedConv2D },
  { name: 'DepthwiseConv2dNativeBackpropFilter', kernelFunc: depthwiseBackpropFilter },
  { name: 'DepthwiseConv2dNativeBackpropInput', kernelFunc: depthwiseBackpropInput },
  { name: 'MaxPoolGrad', kernelFunc: maxPoolGrad },
  { name: 'Sum', kernelFunc: sum },
  { name: 'BatchMatMul', kernelFunc: batchMatMul },
  { name: 'Add', kernelFunc: add },
  { name: 'Identity', kernelFunc: identity },
  { name: 'Cast', kernelFunc: cast },
];

const ours = new Set<KernelConfig['kernelFunc']>(OUR_KERNELS.map((k) => k.kernelFunc));

export interface WasmKernelRegistration {
  /** Kernels the wasm backend did not have. */
  added: string[];
  /** Kernels whose wasm implementation we replaced with a faster one. */
  replaced: string[];
}

/**
 * Registers our kernels for the 'wasm' backend. Idempotent. Call after requiring
 * @tensorflow/tfjs-backend-wasm (its kernels must be in the registry so we can keep the originals);
 * the backend itself may or may not be initialised yet: a replaced kernel keeps the original setupFunc.
 * `only` limits registration to some kernels (the benchmark's "stock" baseline).
 */
export function registerWasmTrainingKernels(only?: readonly string[]): WasmKernelRegistration {
  const added: string[] = [];
  const replaced: string[] = [];
  for (const k of OUR_KERNELS) {
    if (only && !only.includes(k.name)) continue;
    const existing = tf.getKernel(k.name, BACKEND);
    if (existing && ours.has(existing.kernelFunc)) {
      (originalKernel(k.name) ? replaced : added).push(k.name);
      continue;
    }
    if (existing) {
      rememberOriginal(k.name, existing);
      tf.unregisterKernel(k.name, BACKEND);
      tf.registerKernel({ kernelName: k.name, backendName: BACKEND, kernelFunc: k.kernelFunc, setupFunc: existing.setupFunc });
      replaced.push(k.name);
    } else {
      tf.registerKernel({ kernelName: k.name, backendName: BACKEND, kernelFunc: k.kernelFunc });
      added.push(k.name);
    }
  }
  return { added, replaced };
}

/** Puts the original wasm kernels back (used by the benchmark's "before" measurement and tests). */
export function unregisterWasmTrainingKernels(): void {
  for (const k of OUR_KERNELS) {
    const existing = tf.getKernel(k.name, BACKEND);
    if (!existing || !ours.has(existing.kernelFunc)) continue;
    tf.unregisterKernel(k.name, BACKEND);
    const original = originalKernel(k.name);
    if (original) tf.registerKernel(original);
  }
}

export const WASM_TRAINING_KERNELS = OUR_KERNELS.map((k) => k.name);
