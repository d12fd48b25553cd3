// Writes a run folder's metadata.json as training does today (package 'run', with the recipe it was trained on), so an
// export of it carries the recipe. Not a test file.
import { buildModelMetadata, writeModelMetadata } from '../../../electron/inference/model-format';
import { tf } from '../../../electron/tfjs/tf';
import type { TrainingConfig } from '../../../shared/training-config';
import { CLASS_NAMES } from './helpers';

export async function writeRunFolderMetadata(dir: string, config: TrainingConfig): Promise<void> {
  await writeModelMetadata(dir, buildModelMetadata({
    package: 'run', name: 'tiny run', classNames: CLASS_NAMES, imageSize: config.imageSize, preprocessing: config.preprocessing,
    preprocessingInModel: config.preprocessing !== 'none', output: { kind: 'logits', units: 1 },
    run: {
      id: 1, name: 'tiny run', preset: config.preset, datasetId: 1, splitId: 1, dataHash: 'abc123', config, metrics: {},
      backend: tf.getBackend(), versions: {}, createdAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z',
    },
    versions: { app: '0.0.0', tfjs: tf.version.tfjs ?? tf.version['tfjs-core'] },
    createdAt: new Date('2026-01-01T00:01:00.000Z'),
  }));
}
