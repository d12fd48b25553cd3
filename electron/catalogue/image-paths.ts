import { isAbsolute, join } from 'node:path';

// Its own file so images.ts and training-data.ts can both use it without importing each other.

/** Stored relative paths use '/' whatever the platform, so a catalogue survives a move between systems. */
export function absoluteImagePath(rootPath: string, relPath: string): string {
  if (isAbsolute(relPath)) return relPath;
  return join(rootPath, ...relPath.split('/'));
}
