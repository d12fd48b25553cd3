// The Evaluate view's list of a run's earlier evaluations: one entry per distinct result, each in words.
import type { EvaluationSummary } from '../../../shared/contract/runs';
import { plural } from './words';

export interface EvaluationChoice {
  id: number;
  label: string;
}

function target(e: EvaluationSummary): string {
  if (e.source === 'test-split') return 'test split';
  if (e.source === 'folder') return `folder ${e.folder?.split(/[\\/]/).filter(Boolean).pop() ?? ''}`.trim();
  return `dataset ${e.datasetId ?? ''}`.trim();
}

/**
 * Newest first, one entry per distinct result: re-evaluating a run on the same images gives the same numbers, and a
 * list of identical lines ("test split · 93.3%" three times) tells a person nothing. Entries whose label would still
 * read the same (same minute) get their time to the second.
 */
export function evaluationChoices(evaluations: readonly EvaluationSummary[]): EvaluationChoice[] {
  const newestFirst = [...evaluations].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id);
  const seen = new Set<string>();
  const kept: EvaluationSummary[] = [];
  for (const e of newestFirst) {
    const key = JSON.stringify([e.source, e.datasetId, e.subset, e.folder, e.count, e.accuracy, e.loss]);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(e);
  }
  const minute = (e: EvaluationSummary) => e.createdAt.slice(0, 16).replace('T', ' ');
  const sameMinute = new Map<string, number>();
  for (const e of kept) sameMinute.set(minute(e), (sameMinute.get(minute(e)) ?? 0) + 1);
  return kept.map((e) => {
    const when = (sameMinute.get(minute(e)) ?? 0) > 1 ? e.createdAt.slice(0, 19).replace('T', ' ') : minute(e);
    return { id: e.id, label: `${when} · ${target(e)} · ${(e.accuracy * 100).toFixed(1)}% of ${plural(e.count, 'image')}` };
  });
}
