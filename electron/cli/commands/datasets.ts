import type { Command } from '../command';

// CLI commands of the datasets domain.
export const datasetsCommands: Command[] = [];
