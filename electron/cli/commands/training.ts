import type { Command } from '../command';

// CLI commands of the training domain.
export const trainingCommands: Command[] = [];
