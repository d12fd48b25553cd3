import type { Command } from '../command';

// CLI commands of the export domain.
export const exportCommands: Command[] = [];
