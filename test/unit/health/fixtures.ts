// Generated photos for the health tests: two classes told apart by shape and colour (circles on warm backgrounds,
// squares on cool ones), each image a seeded random layout so no two are alike; one circle picture filed under
// squares (a planted flip) and a resized, cropped, brightened JPEG copy of another (a planted near-duplicate).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../../../shared/random';
import { bundledBasePath } from '../../../electron/health/base';
import { sharedBackbone } from '../../support/shared-data';
import { existsSync } from 'node:fs';

const SIZE = 128;

function hslToRgb(h: number, sat: number, l: number): [number, number, number] {
  const a = sat * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** A blotchy background (a random 5x5 colour grid, smoothly enlarged) in the class's hues, with random shapes on it. */
async function picture(kind: 'circles' | 'squares', seed: number): Promise<Buffer> {
  const rng = mulberry32(seed);
  const hueBase = kind === 'circles' ? 0 : 190;
  const grid = Buffer.alloc(12 * 12 * 3);
  for (let i = 0; i < 144; i++) grid.set(hslToRgb(hueBase + rng() * 60, 0.3 + rng() * 0.6, 0.2 + rng() * 0.6), i * 3);
  const shapes: string[] = [];
  // Many shapes of any colour: cluttered, photo-like variety, so unrelated pictures are not near-copies.
  const count = 20 + Math.floor(rng() * 20);
  for (let i = 0; i < count; i++) {
    const x = Math.floor(rng() * SIZE), y = Math.floor(rng() * SIZE), r = 3 + Math.floor(rng() * 14);
    const fill = `hsl(${Math.floor(i % 3 === 0 ? rng() * 360 : hueBase + 20 + rng() * 40)},80%,${25 + Math.floor(rng() * 50)}%)`;
    shapes.push(kind === 'circles' ? `<circle cx="${x}" cy="${y}" r="${r}" fill="${fill}"/>` : `<rect x="${x - r}" y="${y - r}" width="${2 * r}" height="${2 * r}" fill="${fill}"/>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}">${shapes.join('')}</svg>`;
  const background = await sharp(grid, { raw: { width: 12, height: 12, channels: 3 } }).resize(SIZE, SIZE, { kernel: 'cubic' }).png().toBuffer();
  return sharp(background).composite([{ input: Buffer.from(svg) }]).jpeg({ quality: 92 }).toBuffer();
}

export interface HealthFixture {
  root: string;
  /** Relative paths. */
  flipped: string;
  duplicate: { original: string; copy: string };
}

export async function writeHealthDataset(root: string, perClass = 18): Promise<HealthFixture> {
  for (const kind of ['circles', 'squares'] as const) mkdirSync(join(root, kind), { recursive: true });
  for (const kind of ['circles', 'squares'] as const) {
    for (let i = 0; i < perClass; i++) {
      // circles-0 is filed under squares: the planted flip.
      const folder = kind === 'circles' && i === 0 ? 'squares' : kind;
      const bytes = await picture(kind, (kind === 'circles' ? 1000 : 2000) + i);
      writeFileSync(join(root, folder, `${kind}-${i}.jpg`), bytes);
    }
  }
  const original = 'circles/circles-5.jpg';
  const source = await sharp(join(root, original)).toBuffer();
  const copy = await sharp(source).resize(102, 102).extract({ left: 4, top: 4, width: 94, height: 94 }).modulate({ brightness: 1.1 }).jpeg({ quality: 70 }).toBuffer();
  writeFileSync(join(root, 'circles', 'circles-5-copy.jpg'), copy);
  return { root, flipped: 'squares/circles-0.jpg', duplicate: { original, copy: 'circles/circles-5-copy.jpg' } };
}

/** The bundled backbone, else the shared Teachable Machine one; null (skip) without either. */
export function testBase(): string | null {
  return bundledBasePath() ?? (existsSync(join(sharedBackbone, 'model.json')) ? sharedBackbone : null);
}
