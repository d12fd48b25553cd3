// The health analysis's matrix products on TensorFlow.js (the worker's backend: WebAssembly with XNNPACK's matMul, or
// libtensorflow): the held matrix is uploaded once, each product downloads only its result. Plain loops took 25 s for
// the head and 31 s for the similarities of 2,030 images on a loaded machine; these are the same sums in float32.
import type { HeldMatrix, MatrixEngine } from '../analysis';
import type { tf as TfNamespace } from '../../tfjs/tf';
import { nativeKernels } from '../../tfjs/backend/native-kernels';

type Tf = typeof TfNamespace;

/**
 * Bytes of the held matrix's rows multiplied at a time in a Gram block, uploaded from the caller's rows: slicing the
 * held tensor instead copies all of it out of the WebAssembly heap first (tfjs-backend-wasm's Slice reads the whole
 * input), 512 MB at 100,000 images for every block, and one upload of every row after c0 would raise the heap's
 * high-water mark (it never shrinks) by up to the whole matrix. 32 MB is 6,553 rows of 1,280 floats.
 */
const GRAM_BYTES_PER_PRODUCT = 32 * 1024 ** 2;

export function tfMatrixEngine(tf: Tf, opts: { gramRowsPerProduct?: number } = {}): MatrixEngine {
  return {
    name: `tfjs-${tf.getBackend()}`,
    hold(values: Float32Array, rows: number, cols: number): HeldMatrix {
      const a = tf.tensor2d(values, [rows, cols]);
      // Pᵀ·A with P transposed inside the product where the backend reads a transposed operand in place (Pawprint's
      // C kernels: 3x faster than the kept copy below for 20,000 images; libtensorflow; the CPU backend); tfjs's own
      // WebAssembly kernels would transpose P and repack all of A on every call, so there A's transpose is kept (tf.keep:
      // it is made inside a product's tidy).
      const inPlace = tf.getBackend() !== 'wasm' || nativeKernels(tf.backend()) !== null;
      let aT: import('@tensorflow/tfjs').Tensor2D | null = null;
      const transposed = () => (aT ??= tf.keep(tf.transpose(a)));
      const chunk = Math.max(1, opts.gramRowsPerProduct ?? Math.floor(GRAM_BYTES_PER_PRODUCT / (4 * Math.max(1, cols))));
      const run = (product: () => import('@tensorflow/tfjs').Tensor): Float32Array => {
        const t = tf.tidy(product);
        try {
          return t.dataSync() as Float32Array;
        } finally {
          t.dispose();
        }
      };
      return {
        timesTransposed: (b, bRows) => run(() => tf.matMul(a, tf.tensor2d(b, [bRows, cols]), false, true)),
        transposedTimes: (p, k) => run(() => (inPlace
          ? tf.matMul(tf.tensor2d(p, [rows, k]), a, true, false)
          : tf.transpose(tf.matMul(transposed(), tf.tensor2d(p, [rows, k]))))),
        selfProduct: (r0, r1, c0) => {
          const height = r1 - r0;
          const width = rows - c0;
          const out = new Float32Array(height * width);
          const block = tf.tensor2d(values.subarray(r0 * cols, r1 * cols), [height, cols]);
          try {
            for (let j0 = c0; j0 < rows; j0 += chunk) {
              const j1 = Math.min(rows, j0 + chunk);
              const span = j1 - j0;
              // The many rows are the left operand: XNNPACK repacks the right one on every call.
              const part = run(() => tf.transpose(tf.matMul(tf.tensor2d(values.subarray(j0 * cols, j1 * cols), [span, cols]), block, false, true)));
              for (let i = 0; i < height; i++) out.set(part.subarray(i * span, (i + 1) * span), i * width + (j0 - c0));
            }
          } finally {
            block.dispose();
          }
          return out;
        },
        dispose: () => {
          a.dispose();
          aT?.dispose();
        },
      };
    },
  };
}
