// Writes the small training sets the end-to-end tests train tailored models on with the real
// `tandem train` CLI, and a PNG encoder the tests use to upload images. No npm packages.
//   node tests/e2e/task_data.mjs DIR   -> DIR/ratings.csv, reviews.csv, images.idx, labels.idx
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';

// A small deterministic generator (mulberry32), so every run writes the same files.
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// 28 x 28 grey pixels: class 0 a horizontal bar, 1 a vertical bar, 2 two vertical bars.
export function shape(label, rnd) {
  const px = new Uint8Array(784);
  for (let i = 0; i < 784; i++) px[i] = Math.floor(rnd() * 40);
  const at = 6 + Math.floor(rnd() * 15);
  for (let i = 2; i < 26; i++) {
    for (let w = 0; w < 3; w++) {
      if (label === 0) px[(at + w) * 28 + i] = 230;
      if (label === 1) px[i * 28 + at + w] = 230;
      if (label === 2) {
        px[i * 28 + 4 + w] = 230;
        px[i * 28 + 21 + w] = 230;
      }
    }
  }
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
// An 8-bit grey PNG of `width` x `height` pixels.
export function png(pixels, width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0; // filter: none
    for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = pixels[y * width + x];
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function writeData(dir) {
  const rnd = random(7);
  // Ratings: users 1..40 like items 1..30, users 41..80 like items 31..60.
  let ratings = 'user,item,rating,timestamp\n';
  let t = 1000;
  for (let u = 1; u <= 80; u++) {
    for (let i = 1; i <= 60; i++) {
      if (rnd() > 0.4) continue;
      const own = u <= 40 === i <= 30;
      ratings += `${u},${i},${own ? 4.5 : 1.5},${t++}\n`;
    }
  }
  writeFileSync(join(dir, 'ratings.csv'), ratings);

  const good = ['delicious', 'tasty', 'love', 'perfect', 'fresh', 'wonderful'];
  const bad = ['stale', 'awful', 'broken', 'bland', 'expired', 'terrible'];
  const filler = ['the', 'coffee', 'box', 'arrived', 'it', 'was', 'and', 'taste'];
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  let reviews = 'text,label\n';
  for (let i = 0; i < 300; i++) {
    const positive = i % 2 === 0;
    const words = Array.from({ length: 8 }, () => pick(filler));
    words.push(pick(positive ? good : bad), pick(filler));
    reviews += `"${words.join(' ')}",${positive ? 'great' : 'other'}\n`;
  }
  writeFileSync(join(dir, 'reviews.csv'), reviews);

  const n = 600;
  const images = Buffer.alloc(16 + n * 784);
  images.writeUInt32BE(0x00000803, 0);
  images.writeUInt32BE(n, 4);
  images.writeUInt32BE(28, 8);
  images.writeUInt32BE(28, 12);
  const labels = Buffer.alloc(8 + n);
  labels.writeUInt32BE(0x00000801, 0);
  labels.writeUInt32BE(n, 4);
  for (let i = 0; i < n; i++) {
    images.set(shape(i % 3, rnd), 16 + i * 784);
    labels[8 + i] = i % 3;
  }
  writeFileSync(join(dir, 'images.idx'), images);
  writeFileSync(join(dir, 'labels.idx'), labels);
}

if (process.argv[1] && process.argv[1].endsWith('task_data.mjs') && process.argv[2]) {
  writeData(process.argv[2]);
}
