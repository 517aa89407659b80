import { deflateSync, inflateSync } from 'node:zlib';
import { crc32 } from './crc32';

/** Minimal PNG encoding (8-bit RGBA) and header reading: enough for app icons and their tests. */
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

export function encodePng(pixels: Array<Array<[number, number, number, number]>>): Buffer {
  const height = pixels.length;
  const width = pixels[0].length;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  const raw = Buffer.alloc(height * (1 + width * 4));
  pixels.forEach((row, y) => {
    const offset = y * (1 + width * 4);
    raw[offset] = 0; // filter: none
    row.forEach(([r, g, b, a], x) => raw.set([r, g, b, a], offset + 1 + x * 4));
  });
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

export interface PngInfo {
  width: number;
  height: number;
  colourType: number;
  hasAlpha: boolean;
}

export function readPngInfo(png: Buffer): PngInfo {
  if (png.length < 33 || !png.subarray(0, 8).equals(SIGNATURE) || png.toString('ascii', 12, 16) !== 'IHDR') {
    throw new Error('not a PNG file');
  }
  const colourType = png[25];
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), colourType, hasAlpha: colourType === 4 || colourType === 6 };
}

/** RGBA of one pixel, for 8-bit RGBA images without filters (what encodePng writes). */
export function pixelAt(png: Buffer, x: number, y: number): [number, number, number, number] {
  const { width, colourType } = readPngInfo(png);
  if (colourType !== 6) throw new Error('pixelAt reads 8-bit RGBA only');
  const parts: Buffer[] = [];
  for (let offset = 8; offset < png.length; ) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    if (type === 'IDAT') parts.push(png.subarray(offset + 8, offset + 8 + length));
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(parts));
  const start = y * (1 + width * 4) + 1 + x * 4;
  return [raw[start], raw[start + 1], raw[start + 2], raw[start + 3]];
}
