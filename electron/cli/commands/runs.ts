import type { Command } from '../command';

// CLI commands of the runs domain.
export const runsCommands: Command[] = [];
