// The TensorFlow.js backend for inference, chosen once per process the way training chooses it.
import { tf } from '../tfjs/tf';
import { selectBackend } from '../tfjs/backend/select-backend';

let backendReady: Promise<string> | null = null;

/**
 * Inference on the plain CPU backend is slow for convolutions: pick the best backend the way training does
 * (tfjs-node, else WebAssembly, else CPU; it also finds the .wasm files when packaged). Runs once per process;
 * call before loading models.
 */
export function ensureInferenceBackend(): Promise<string> {
  backendReady ??= (async () => {
    const current = tf.getBackend();
    if (current === 'wasm' || current === 'tensorflow') return current;
    try {
      return (await selectBackend('auto')).name;
    } catch {
      // No better backend could start: the CPU backend gives the same answers, only slower.
      await tf.setBackend('cpu');
      return 'cpu';
    }
  })();
  return backendReady;
}
