import type { CommandContext } from '../command';
import { AppError } from '../../../shared/errors';

/** A run by id, or by its exact name when that is unique: what every command taking <run> accepts. */
export async function resolveRun(context: CommandContext, ref: string): Promise<number> {
  if (/^\d+$/.test(ref)) return Number(ref);
  const { runs } = await context.services().request('runs.list', { limit: 10000 });
  const matches = runs.filter((run) => run.name === ref);
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0) throw new AppError('not-found', `No run is called "${ref}" (see \`pawprint runs\`).`);
  throw new AppError('conflict', `${matches.length} runs are called "${ref}": use a run id (${matches.map((run) => run.id).join(', ')}).`);
}
