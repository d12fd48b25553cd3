// Layer tables and parameter counts of the presets, from the real tfjs models (built with random weights and
// disposed at once), so the Train view shows what training will build.
import { buildPresetModel, describeModel } from '../presets';
import { buildMobileNetV2, buildTransferModel, HEAD_DROPOUT } from '../mobilenet/mobilenet-v2';
import { logitUnits } from '../../../shared/model-validation';
import type { ModelSummary } from '../../../shared/contract/training';
import { presetDefaults, PRESET_NAMES, type TrainingConfig } from '../../../shared/training-config';
import type { WorkerTask } from '../../../shared/worker-task';
import type { DescribeTaskInput, DescribeTaskResult } from './task-types';

export function describePreset(config: TrainingConfig, numClasses: number): ModelSummary | null {
  if (config.preset === 'mobilenetv2') {
    const size = config.imageSize.height;
    const base = buildMobileNetV2({ alpha: config.mobilenet.alpha, imageSize: size, includeTop: false });
    const model = buildTransferModel(base, {
      pooling: config.mobilenet.headPooling, units: logitUnits(numClasses), dropout: HEAD_DROPOUT, extraDense: config.mobilenet.extraDense,
    });
    try {
      return describeModel(model);
    } finally {
      model.dispose(); // also disposes the nested base
    }
  }
  const model = buildPresetModel(config, numClasses);
  try {
    return describeModel(model);
  } finally {
    model.dispose();
  }
}

/** The `describe` worker task: every preset's layer table for a class count (training.presets shows them). */
export const describeTask: WorkerTask<DescribeTaskInput, DescribeTaskResult> = async ({ numClasses }) => ({
  presets: PRESET_NAMES.map((name) => ({ name, model: describePreset(presetDefaults(name), numClasses) })),
});
