// The health analysis's matrix products on TensorFlow.js (the worker's backend: WebAssembly with XNNPACK's matMul, or
// libtensorflow): the held matrix is uploaded once, each product downloads only its result. Plain loops took 25 s for
// the head and 31 s for the similarities of 2,030 images on a loaded machine; these are the same sums in float32.
import type { HeldMatrix, MatrixEngine } from '../analysis';
import type { tf as TfNamespace } from '../../tfjs/tf';

type Tf = typeof TfNamespace;

export function tfMatrixEngine(tf: Tf): MatrixEngine {
  return {
    name: `tfjs-${tf.getBackend()}`,
    hold(values: Float32Array, rows: number, cols: number): HeldMatrix {
      const a = tf.tensor2d(values, [rows, cols]);
      // The big matrix is always the left operand: XNNPACK repacks the right one on every call. Kept: made inside a tidy.
      let aT: import('@tensorflow/tfjs').Tensor2D | null = null;
      const transposed = () => (aT ??= tf.keep(tf.transpose(a)));
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
        transposedTimes: (p, k) => run(() => tf.transpose(tf.matMul(transposed(), tf.tensor2d(p, [rows, k])))),
        selfProduct: (r0, r1, c0) => run(() => {
          const right = a.slice([c0, 0], [rows - c0, cols]);
          return tf.transpose(tf.matMul(right, a.slice([r0, 0], [r1 - r0, cols]), false, true));
        }),
        dispose: () => {
          a.dispose();
          aT?.dispose();
        },
      };
    },
  };
}
