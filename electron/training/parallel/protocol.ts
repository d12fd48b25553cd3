// Messages between the trainer and its training threads (see data-parallel.ts).
import type { TrainingConfig } from '../../../shared/training-config';

export type TrainingThreadRequest =
  /** Build the preset model, take the coordinator's weights, seed Dropout like the coordinator. */
  | { type: 'init'; config: TrainingConfig; numClasses: number; weights: Float32Array[] }
  /** One shard of a step: inputs, labels and optional sample weights for rows [offset, offset + rows). */
  | {
    type: 'step'; id: number; x: Float32Array; xShape: number[]; y: Float32Array; yShape: number[];
    sampleWeights: Float32Array | null; offset: number; fullBatch: number;
  }
  /** The weights after the coordinator's optimizer step (trainable weights, in the model's order). */
  | { type: 'weights'; values: Float32Array[] };

export type TrainingThreadReply =
  | { type: 'ready'; backend: string }
  | { type: 'init-failed'; message: string }
  | { type: 'grads'; id: number; grads: Float32Array[]; loss: number; correct: number; tensors: number }
  | { type: 'step-failed'; id: number; message: string };
