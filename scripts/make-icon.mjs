// Renders resources/icon.svg to resources/icon.png (512x512), the size electron-builder needs to derive the
// Windows .ico and macOS .icns. Run after editing the SVG: `node scripts/make-icon.mjs`.
import sharp from 'sharp';

const SIZE = 512;
const source = new URL('../resources/icon.svg', import.meta.url);
const target = new URL('../resources/icon.png', import.meta.url);

// The SVG is 64 units wide: render at the density that makes it exactly SIZE pixels, so nothing is upscaled.
await sharp(source.pathname, { density: (72 * SIZE) / 64 })
  .resize(SIZE, SIZE)
  .png({ compressionLevel: 9 })
  .toFile(target.pathname);
console.log(`wrote ${target.pathname} (${SIZE}x${SIZE})`);
