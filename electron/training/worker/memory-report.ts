// One log line on where a run's memory went: the process's peak resident size (Linux VmHWM, which counts every
// thread's WebAssembly heap too), this thread's WebAssembly heap (tfjs-backend-wasm grows it to the largest step and
// never gives it back) and the JavaScript heap and array buffers. The training-memory bench reads it from the job log.
import { readFileSync } from 'node:fs';
import { tf } from '../../tfjs/tf';

const MB = 1024 ** 2;

/** Bytes of the active backend's WebAssembly memory, or null on another backend. */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  type Memory = { buffer: ArrayBuffer };
  const wasm = (tf.backend() as { wasm?: { HEAPU8?: Uint8Array; asm?: { memory?: Memory }; wasmMemory?: Memory } }).wasm;
  const memory = wasm?.asm?.memory ?? wasm?.wasmMemory;
  if (memory) return memory.buffer.byteLength;
  return wasm?.HEAPU8?.byteLength ?? null;
}

/** Peak resident set of this process in bytes (VmHWM), or null where /proc is missing. */
export function peakRssBytes(): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export function memoryReport(): string {
  const usage = process.memoryUsage();
  const peak = peakRssBytes();
  const heap = wasmHeapBytes();
  const parts = [
    `peak RSS ${peak === null ? 'unknown' : `${Math.round(peak / MB)} MB`}`,
    `RSS now ${Math.round(usage.rss / MB)} MB`,
    `WebAssembly heap ${heap === null ? 'none' : `${Math.round(heap / MB)} MB`}`,
    `JS heap ${Math.round(usage.heapUsed / MB)} MB`,
    `array buffers ${Math.round(usage.arrayBuffers / MB)} MB`,
  ];
  return `memory: ${parts.join(', ')}`;
}
