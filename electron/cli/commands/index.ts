import type { Command } from '../command';
import { serveCommand } from './serve';
import { datasetsCommands } from './datasets';
import { trainingCommands } from './training';
import { runsCommands } from './runs';
import { exportCommands } from './export';
import { jobsCommand } from './jobs';
import { healthCommand } from './health';

/** Every CLI command, in help order; each domain lists its own in commands/<domain>.ts. */
export const commands: Command[] = [serveCommand, ...datasetsCommands, ...trainingCommands, ...runsCommands, ...exportCommands, healthCommand, jobsCommand];
