// Writes resources/models/mobilenet_v2_0.35_224_imagenet/ from the Teachable Machine export in ../shared/models: the
// ImageNet MobileNetV2 alpha 0.35 backbone only (its 2-class head is dropped), declared as Keras names it so that
// base-weights.ts loads it by layer name like any other base. Run once: node --import tsx scripts/extract-bundled-base.ts
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMobileNetV2Base, resolveBaseWeights, KNOWN_IMAGENET_WEIGHTS_IDS } from '../electron/training/mobilenet/base-weights';
import { saveModelToFolder } from '../electron/inference/model-folder';
import { BUNDLED_BASE } from '../electron/training/mobilenet/bundled-base';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const source = path.resolve(root, '../shared/models/mobilenet-v2-0.35-224-teachable-machine');
if (!existsSync(path.join(source, 'model.json'))) {
  console.error(`extract-bundled-base: ${source} not found (the shared models live in ../shared beside the repository)`);
  process.exit(1);
}
const weights = await resolveBaseWeights({ kind: 'local', path: source }, { cacheDir: path.join(root, '.cache-unused'), expectedAlpha: 0.35 });
if (weights.weightsId !== KNOWN_IMAGENET_WEIGHTS_IDS[0.35]) throw new Error(`unexpected weights ${weights.weightsId}`);
const target = path.join(root, 'resources', 'models', BUNDLED_BASE.folder);
await rm(target, { recursive: true, force: true });
const model = createMobileNetV2Base(weights, 224);
await saveModelToFolder(model, target);
model.dispose();
console.log(`wrote ${target} (weights ${weights.weightsId})`);
