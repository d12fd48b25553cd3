// Chart choices shared by the live Train charts and Compare's curves: pure, so unit tests check them.

/** Series colours of runs (Okabe–Ito, told apart with colour-blindness too). */
export const SERIES_COLORS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7'] as const;
/** Reference lines: never a series colour, and each dashed in its own way. */
export const TARGET_LINE = { color: '#d62728', dash: [10, 4], width: 2 } as const;
export const CHANCE_LINE = { color: '#7f7f7f', dash: [2, 3], width: 1 } as const;

/** The last epoch both live charts show: the planned epochs (or more, once a run goes past them), at least 2. */
export function epochAxisMax(plannedEpochs: number, lastEpoch: number | undefined): number {
  return Math.max(2, plannedEpochs, lastEpoch ?? 1);
}

export interface LossAxis {
  type: 'linear' | 'logarithmic';
  min?: number;
}

/**
 * A logarithmic loss axis when the losses span more than a factor of 10 (a first epoch at 8 otherwise flattens the
 * later 0.2s into the floor); linear from 0 otherwise, and whenever a loss is 0 or less (no log of it).
 */
export function lossAxis(losses: readonly number[]): LossAxis {
  const finite = losses.filter((value) => Number.isFinite(value));
  if (finite.length < 2 || finite.some((value) => value <= 0)) return { type: 'linear', min: 0 };
  const ratio = Math.max(...finite) / Math.min(...finite);
  return ratio > 10 ? { type: 'logarithmic' } : { type: 'linear', min: 0 };
}
