// A job's ETA in words, the same in the Jobs panel and the CLI: rounded as far as an estimate deserves.

/** "about 3 min left", "a few seconds left"; null when there is no estimate. */
export function timeLeftWords(seconds: number | null | undefined): string | null {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return null;
  if (seconds < 10) return 'a few seconds left';
  if (seconds < 60) return `about ${Math.max(10, Math.round(seconds / 10) * 10)} s left`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min left`;
  return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min left`;
}
