import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodePng } from './png';

/**
 * Draws Signpost's two Teams icons: a white signpost (a post with two arms pointing opposite
 * ways) on a green tile for the 192x192 colour icon, and the same glyph in white on a
 * transparent background for the 32x32 outline icon. Run: node dist/scripts/make-icons.js
 */
type Pixel = [number, number, number, number];

function drawSignpost(size: number, inside: (x: number, y: number) => boolean): boolean[][] {
  const glyph: boolean[][] = [];
  const s = size / 32; // designed on a 32-pixel grid
  for (let y = 0; y < size; y += 1) {
    glyph.push([]);
    for (let x = 0; x < size; x += 1) {
      const gx = x / s;
      const gy = y / s;
      const post = gx >= 14.5 && gx < 17.5 && gy >= 5 && gy < 29;
      const rightArm = gy >= 7 && gy < 12 && gx >= 14.5 && gx < 25 - Math.abs(gy - 9.5);
      const leftArm = gy >= 14 && gy < 19 && gx < 17.5 && gx >= 7 + Math.abs(gy - 16.5);
      glyph[y].push(inside(x, y) && (post || rightArm || leftArm));
    }
  }
  return glyph;
}

export function colourIcon(): Buffer {
  const size = 192;
  const glyph = drawSignpost(size, () => true);
  const pixels: Pixel[][] = glyph.map((row) => row.map((on): Pixel => (on ? [255, 255, 255, 255] : [31, 110, 92, 255])));
  return encodePng(pixels);
}

export function outlineIcon(): Buffer {
  const size = 32;
  const glyph = drawSignpost(size, () => true);
  const pixels: Pixel[][] = glyph.map((row) => row.map((on): Pixel => (on ? [255, 255, 255, 255] : [0, 0, 0, 0])));
  return encodePng(pixels);
}

if (require.main === module) {
  const folder = path.resolve(__dirname, '..', '..', 'manifest');
  writeFileSync(path.join(folder, 'color.png'), colourIcon());
  writeFileSync(path.join(folder, 'outline.png'), outlineIcon());
  process.stdout.write(`wrote ${folder}/color.png and outline.png\n`);
}
