import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '../command';
import { UsageError } from '../command';
import { resolveRun } from './run-ref';
import type { ExportPredictResult, ExportResult } from '../../../shared/contract/index';
import { count, followOwnJobs } from '../job-runner';
import { terminalSafe } from '../terminal-text';

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'Export a run\'s model as a verified package: TF.js (default), Teachable Machine or ONNX (.zip or folder)',
  usage: 'pawprint export <run> [--target tfjs|tm|onnx] [--out FILE] [--format zip|folder] [--overwrite] [--verify-images PATH]...',
  options: {
    target: { type: 'string', description: 'tfjs (model.json + classify.js, default), tm (Teachable Machine) or onnx (model.onnx)' },
    out: { type: 'string', description: 'where to write it (default: <data folder>/exports/<run name>-run<id>.zip)' },
    format: { type: 'string', description: 'zip (one file, default) or folder' },
    overwrite: { type: 'boolean', description: 'replace an existing file or earlier export folder at --out' },
    'verify-images': { type: 'string', multiple: true, description: 'images or folders to verify on (default: the run\'s test split)' },
  },
  async run({ positionals, values }, context) {
    if (positionals.length !== 1) throw new UsageError('export takes exactly one run (its id or name)');
    const target = values.target ?? 'tfjs';
    if (target !== 'tfjs' && target !== 'tm' && target !== 'onnx') throw new UsageError(`--target must be tfjs, tm or onnx, not "${terminalSafe(String(target))}"`);
    const runId = await resolveRun(context, positionals[0]!);
    const format = values.format ?? 'zip';
    if (format !== 'zip' && format !== 'folder') throw new UsageError(`--format must be zip or folder, not "${terminalSafe(String(format))}"`);
    const verify = (values['verify-images'] as string[] | undefined) ?? [];
    context.log(`Exporting run ${runId}…`);
    const services = context.services();
    // export.run starts an export job and waits for it; the job reports its stages (packaging, verifying...).
    const unsubscribe = followOwnJobs(services, context, 'export', (progress) =>
      progress.phase === 'starting' ? null : `  ${progress.phase}${progress.phase === 'verifying' && progress.total !== null ? ` on ${progress.total} images` : ''}…`, Infinity);
    try {
      const result = await services.request('export.run', {
        runId,
        target,
        format,
        overwrite: values.overwrite === true,
        ...(typeof values.out === 'string' ? { out: resolve(values.out) } : {}),
        ...(verify.length > 0 ? { images: verify.map((path) => ({ path: resolve(path) })) } : {}),
      });
      context.output(result, (value) => {
        const r = value as ExportResult;
        return [
          `Exported run ${runId} to ${terminalSafe(r.path)} (${(r.bytes / 1024).toFixed(0)} KB, ${r.format}).`,
          `Verified${target === 'onnx' ? ' in ONNX Runtime against TensorFlow.js' : target === 'tm' ? ' as Teachable Machine\'s library feeds it' : ': reloaded from disk'}, max abs difference ${r.maxAbsDiff.toExponential(2)} (< ${r.tolerance}) on ${r.images} ${r.imagesSource === 'given' ? 'given' : r.imagesSource} images; same class on ${r.agreement}/${r.images}.`,
        ].join('\n');
      });
    } finally {
      unsubscribe();
    }
  },
};

export const predictCommand: Command = {
  name: 'predict',
  summary: 'Classify images with an exported model, a run\'s model folder or a Teachable Machine export',
  usage: 'pawprint predict <model-file-or-folder | run:ID | run:NAME> <image-or-folder>... [--batch-size N]',
  options: {
    'batch-size': { type: 'string', description: 'images per forward pass (default 16)' },
  },
  async run({ positionals, values }, context) {
    if (positionals.length < 2) throw new UsageError('predict needs a model and at least one image or folder');
    const [modelArg, ...imageArgs] = positionals as [string, ...string[]];
    const batchSize = values['batch-size'] === undefined ? 16 : Number(values['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 256) throw new UsageError(`--batch-size must be 1-256, not "${terminalSafe(String(values['batch-size']))}"`);
    const runRef = /^run:(.+)$/.exec(modelArg)?.[1];
    const model = runRef !== undefined ? { runId: await resolveRun(context, runRef) } : { path: resolve(modelArg) };
    for (const image of imageArgs) {
      if (!existsSync(image)) context.log(`warning: ${terminalSafe(image)} does not exist`);
    }
    const images = imageArgs.filter((image) => existsSync(image)).map((image) => ({ path: resolve(image) }));
    // Missing paths still appear in the results as per-file errors.
    const missing = imageArgs.filter((image) => !existsSync(image));
    const services = context.services();
    let result: ExportPredictResult;
    if (images.length === 0) {
      // Nothing readable: still load the model, so a broken model is reported as such.
      result = { model: await services.request('export.inspect', { model }), results: [], accuracy: null, labelled: 0, durationMs: 0 };
    } else {
      const off = followOwnJobs(services, context, 'predict', (progress) => (progress.phase === 'predicting' ? `predicting: ${count(progress)} images` : null));
      try {
        result = await services.request('export.predict', { model, images, batchSize });
      } finally {
        off();
      }
    }
    for (const path of missing) result.results.push({ ok: false, name: path, uploadId: null, path: resolve(path), error: 'file not found' });
    const ok = result.results.filter((r) => r.ok).length;
    const failed = result.results.length - ok;
    context.output(result, (value) => {
      const r = value as ExportPredictResult;
      const labels = r.results.map((p) => terminalSafe(p.path ?? p.name));
      const width = Math.min(60, Math.max(...labels.map((label) => label.length), 4));
      return r.results
        .map((p, index) => {
          const label = labels[index]!.padEnd(width);
          if (!p.ok) return `${label}  error: ${terminalSafe(p.error)}`;
          const probs = r.model.classNames.map((name, i) => `${terminalSafe(name)} ${p.probabilities[i]!.toFixed(3)}`).join(', ');
          return `${label}  ${terminalSafe(p.className).padEnd(12)} ${percent(p.probabilities[p.predictedIndex]!).padStart(6)}   (${probs})`;
        })
        .join('\n');
    });
    context.log(
      `${ok} predicted, ${failed} failed with ${terminalSafe(result.model.label)} (${result.model.kind}, classes: ${terminalSafe(result.model.classNames.join(', '))})` +
        (result.accuracy !== null ? `; accuracy ${percent(result.accuracy)} on ${result.labelled} images whose folder names a class` : ''),
    );
    return ok > 0 ? 0 : 1;
  },
};

// CLI commands of the export domain.
export const exportCommands: Command[] = [exportCommand, predictCommand];
