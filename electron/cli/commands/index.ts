import type { Command } from '../command';
import { serveCommand } from './serve';

/** Every CLI command; a new command is a file in this folder and a line here. */
export const commands: Command[] = [serveCommand];
