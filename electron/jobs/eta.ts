// Time left for a job that reports done/total: the rate is an exponentially smoothed average over time (so one slow
// file or a burst of unchanged ones moves it a little, not all the way), seeded with the phase's plain average, and no
// estimate at all until there is enough progress to base one on (a guess from the first second is mostly noise).

export interface EtaSettings {
  /** No estimate before this long in the phase... */
  minSeconds: number;
  /** ...nor before this fraction of the phase's work is done... */
  minFraction: number;
  /** ...unless this long has passed with something done (a slow job still gets an estimate). */
  patientSeconds: number;
  /** How fast the smoothed rate follows a change of speed: about 63% of the way after this long. */
  timeConstantSeconds: number;
}

export const ETA_SETTINGS: EtaSettings = { minSeconds: 3, minFraction: 0.02, patientSeconds: 15, timeConstantSeconds: 20 };

export class EtaEstimator {
  private startedAt = 0;
  private startDone = 0;
  private lastAt = 0;
  private lastDone = 0;
  /** Items per second, smoothed; null until there is enough progress. */
  private rate: number | null = null;

  constructor(private readonly settings: EtaSettings = ETA_SETTINGS) {}

  /** A new phase (or a count that went back): what came before says nothing about its speed. */
  restart(done: number, at: number): void {
    this.startedAt = at;
    this.startDone = done;
    this.lastAt = at;
    this.lastDone = done;
    this.rate = null;
  }

  /** Seconds left after `done` of `total` at time `at` (ms); null while unknown. */
  update(done: number, total: number | null, at: number): number | null {
    if (done < this.lastDone) this.restart(done, at);
    if (total === null) return null;
    if (done >= total) return 0;
    const seconds = (at - this.lastAt) / 1000;
    if (this.rate === null) {
      const elapsed = (at - this.startedAt) / 1000;
      const doneInPhase = done - this.startDone;
      const fraction = doneInPhase / Math.max(1, total - this.startDone);
      const enough = doneInPhase > 0 && elapsed >= this.settings.minSeconds && (fraction >= this.settings.minFraction || elapsed >= this.settings.patientSeconds);
      if (enough) this.rate = doneInPhase / elapsed;
    } else if (seconds > 0) {
      const recent = (done - this.lastDone) / seconds;
      this.rate += (1 - Math.exp(-seconds / this.settings.timeConstantSeconds)) * (recent - this.rate);
    }
    if (seconds > 0 || this.rate === null) {
      this.lastAt = at;
      this.lastDone = done;
    }
    if (this.rate === null || this.rate <= 0) return null;
    return (total - done) / this.rate;
  }
}
