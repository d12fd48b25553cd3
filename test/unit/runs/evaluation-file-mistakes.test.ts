// runs.evaluation answers a folder evaluation's mistakes (issue 12): they were only in runs.evaluate's own answer,
// so a folder evaluation opened again later showed no mistakes at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { insertEvaluation } from '../../../electron/catalogue/evaluations';
import { evaluateExamples, scoreExample } from '../../../electron/evaluation/metrics';
import type { Prediction } from '../../../shared/contract/runs';
import { freshServices } from '../../support/catalogue';
import { insertDataset, insertRun } from './fixtures';

const classNames = ['cat', 'dog'];

function filePrediction(path: string, trueIndex: number, probabilities: number[]): Prediction {
  const scored = scoreExample({ trueIndex, probabilities });
  return { imageId: null, path, trueIndex, predictedIndex: scored.predictedIndex, probabilities, confidence: scored.confidence, loss: scored.loss, correct: scored.correct };
}

test('runs.evaluation answers the wrong files of a folder evaluation, worst first, at most 200', async (t) => {
  const { services, dir } = freshServices(t);
  const db = services.app.db;
  const dataset = insertDataset(db, join(dir, 'photos'), 'pets', classNames, { train: 1, val: 1, test: 1 });
  const { runId } = insertRun(db, dataset, { name: 'plain', classNames, modelsDir: services.app.paths.models });

  const files: Prediction[] = [
    filePrediction('/folder/cat/right.png', 0, [0.9, 0.1]),
    filePrediction('/folder/cat/wrong-slightly.png', 0, [0.4, 0.6]),
    filePrediction('/folder/dog/wrong-badly.png', 1, [0.95, 0.05]),
  ];
  for (let i = 0; i < 250; i++) files.push(filePrediction(`/folder/dog/many-${i}.png`, 1, [0.55, 0.45]));
  const metrics = evaluateExamples(files.map((f) => ({ trueIndex: f.trueIndex, probabilities: f.probabilities })), classNames);
  const { id } = insertEvaluation(db, { runId, source: 'folder', datasetId: null, subset: null, folder: '/folder', metrics, predictions: [], filePredictions: files });

  const evaluation = await services.request('runs.evaluation', { evaluationId: id });
  assert.equal(evaluation.fileMistakes.length, 200);
  assert.ok(evaluation.fileMistakes.every((p) => !p.correct), 'only mistakes');
  assert.deepEqual(evaluation.fileMistakes.slice(0, 2).map((p) => p.path), ['/folder/dog/wrong-badly.png', '/folder/cat/wrong-slightly.png']);
  assert.ok(evaluation.fileMistakes.every((p, i, all) => i === 0 || all[i - 1]!.loss >= p.loss), 'sorted by loss, highest first');
  assert.equal(evaluation.fileMistakes.some((p) => p.path === '/folder/cat/right.png'), false);
});

test('runs.evaluation of a catalogue evaluation has no file mistakes', async (t) => {
  const { services, dir } = freshServices(t);
  const db = services.app.db;
  const dataset = insertDataset(db, join(dir, 'photos'), 'pets', classNames, { train: 1, val: 1, test: 1 });
  const { runId } = insertRun(db, dataset, { name: 'plain', classNames, modelsDir: services.app.paths.models });
  const test = dataset.images.filter((image) => image.subset === 'test');
  const predictions = test.map((image) => {
    const trueIndex = classNames.indexOf(image.className);
    const probabilities = trueIndex === 0 ? [0.2, 0.8] : [0.3, 0.7];
    const scored = scoreExample({ trueIndex, probabilities });
    return { imageId: image.id, trueIndex, predictedIndex: scored.predictedIndex, probabilities, loss: scored.loss };
  });
  const metrics = evaluateExamples(predictions, classNames);
  const { id } = insertEvaluation(db, { runId, source: 'test-split', datasetId: dataset.datasetId, subset: 'test', metrics, predictions });
  const evaluation = await services.request('runs.evaluation', { evaluationId: id });
  assert.deepEqual(evaluation.fileMistakes, []);
});
