// Seeded noise for the health bench (issue 15): copies a folder-per-class dataset, flips a share of the labels (moves
// the file into another class's folder, name kept) and adds near-duplicates of other images (resized to 80%, cropped
// 4% per side, brightened 10%, re-encoded at JPEG quality 70) beside their originals. Writes noise.json listing both.
// Run alone: node --import tsx bench/_health-noise.ts SOURCE TARGET [--seed N]
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { mulberry32, shuffleInPlace } from '../shared/random';

export interface PlantedNoise {
  seed: number;
  /** Paths relative to the target, after the move. */
  flipped: Array<{ path: string; from: string; to: string }>;
  duplicates: Array<{ original: string; copy: string }>;
}

export async function injectNoise(source: string, target: string, options: { seed: number; flipShare?: number; duplicates?: number }): Promise<PlantedNoise> {
  const rng = mulberry32(options.seed);
  const classes = readdirSync(source, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const files = classes.flatMap((c) => readdirSync(path.join(source, c)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().map((f) => ({ cls: c, name: f })));
  for (const c of classes) mkdirSync(path.join(target, c), { recursive: true });
  const order = shuffleInPlace(files.map((_, i) => i), rng);
  const flipCount = Math.round(files.length * (options.flipShare ?? 0.05));
  const flipSet = new Set(order.slice(0, flipCount));
  const duplicateSources = order.slice(flipCount, flipCount + (options.duplicates ?? 30));
  const noise: PlantedNoise = { seed: options.seed, flipped: [], duplicates: [] };
  files.forEach((file, i) => {
    let cls = file.cls;
    if (flipSet.has(i)) {
      const others = classes.filter((c) => c !== file.cls);
      cls = others[Math.floor(rng() * others.length)];
      noise.flipped.push({ path: `${cls}/${file.name}`, from: file.cls, to: cls });
    }
    copyFileSync(path.join(source, file.cls, file.name), path.join(target, cls, file.name));
  });
  for (const i of duplicateSources) {
    const file = files[i];
    const input = path.join(source, file.cls, file.name);
    const meta = await sharp(input).metadata();
    const width = Math.round((meta.width ?? 100) * 0.8);
    const height = Math.round((meta.height ?? 100) * 0.8);
    const cropX = Math.round(width * 0.04);
    const cropY = Math.round(height * 0.04);
    const bytes = await sharp(input)
      .rotate()
      .resize(width, height)
      .extract({ left: cropX, top: cropY, width: width - 2 * cropX, height: height - 2 * cropY })
      .modulate({ brightness: 1.1 })
      .jpeg({ quality: 70 })
      .toBuffer();
    const copy = `${file.cls}/${file.name.replace(/\.[^.]+$/, '')}-copy.jpg`;
    writeFileSync(path.join(target, copy), bytes);
    noise.duplicates.push({ original: `${file.cls}/${file.name}`, copy });
  }
  writeFileSync(path.join(target, '..', 'noise.json'), JSON.stringify(noise, null, 2));
  return noise;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [source, target] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const seedAt = process.argv.indexOf('--seed');
  if (!source || !target) {
    console.error('usage: node --import tsx bench/_health-noise.ts SOURCE TARGET [--seed N]');
    process.exit(2);
  }
  const noise = await injectNoise(source, target, { seed: seedAt > 0 ? Number(process.argv[seedAt + 1]) : 15 });
  console.log(`${noise.flipped.length} labels flipped, ${noise.duplicates.length} near-duplicates added; see ${path.join(target, '..', 'noise.json')}`);
}
