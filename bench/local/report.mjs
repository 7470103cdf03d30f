#!/usr/bin/env node
// Prints bench/local's table for one model from the files run.sh collected:
//   node report.mjs --name NAME --engine engine.json --tandem tandem.json \
//     --server server.json --tandem-rss-kb N --server-rss-kb N [--servers-other-cpu PCT] \
//     [--target-single 0.95] [--target-scaling 2.5] [--summary FILE]
// The llama.cpp column is what the row's "from" says: llama-bench or llama-batched-bench (the
// engine alone, run by load.mjs in the same alternation as the servers) or llama-server; ratio is
// Tandem / llama.cpp (for times and memory too, so < 1 is better there). A ratio taken as the
// median of paired samples carries its 95% confidence interval in brackets: on a machine whose
// speed swings by a third from one sample to the next, nine samples cannot tell 0.91 from 0.95,
// and the table says so. --summary appends one JSON line per model (for run.sh's final verdict).
import { readFileSync, appendFileSync } from 'node:fs';

const a = {};
for (let i = 2; i < process.argv.length; i += 2) {
  a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const readJson = (f) => JSON.parse(readFileSync(f, 'utf8'));
const tandem = readJson(a.tandem);
const server = readJson(a.server);
const engine = readJson(a.engine);
const targetSingle = +(a['target-single'] || 0.95);
const targetScaling = +(a['target-scaling'] || 2.5);

const f = (x, d = 1) => (x === undefined || x === null || !Number.isFinite(+x) ? '-' : (+x).toFixed(d));
const ratio = (t, l) => (Number.isFinite(t) && Number.isFinite(l) && l > 0 ? t / l : NaN);

// The median and a distribution-free 95% confidence interval for it: the order statistics
// x(k) and x(n+1-k), with k the largest for which P(Binomial(n, 1/2) < k) <= 2.5%. No interval
// exists below 6 samples.
const sorted = (xs) => xs.filter(Number.isFinite).sort((x, y) => x - y);
const median = (xs) => {
  const v = sorted(xs);
  const n = v.length;
  return n === 0 ? NaN : n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
};
function medianInterval(xs) {
  const v = sorted(xs);
  const n = v.length;
  let k = 0;
  let below = 0; // P(B < k+1) as k grows
  let term = 2 ** -n; // P(B = i), starting at i = 0
  for (let i = 0; i < n; i++) {
    below += term;
    if (below > 0.025) break;
    k = i + 1;
    term = (term * (n - i)) / (i + 1);
  }
  return k === 0 ? null : { lo: v[k - 1], hi: v[n - k] };
}
const ciText = (ci) => (ci ? ` [${f(ci.lo, 2)}, ${f(ci.hi, 2)}]` : '');

const rows = [];
const verdicts = [];
// A figure marked * had samples measured while other work used the machine (see the notes).
const star = (x, contended, digits) => f(x, digits) + (contended ? '*' : '');
// PASS or MISS by the median; where its interval holds the target, the samples cannot decide.
// The summary line carries the mark as printed, so run.sh's final verdict reads it as is.
function verdict(name, r, ci, target, contended) {
  const ok = r >= target;
  const straddles = ci !== null && ci.lo < target && ci.hi >= target;
  const mark = (ok ? 'PASS' : 'MISS') + (straddles ? ' (interval holds the target)' : '') +
    (contended ? ' (contended)' : '');
  verdicts.push({ name, ratio: r, interval: ciText(ci), target, ok, mark });
  return mark;
}
// `paired`: the ratios of samples taken in the same round; the row's ratio is their median.
function row(name, t, l, src, { digits = 1, target = '', check = null, tc = false, lc = false,
  paired = [] } = {}) {
  const r = paired.length ? median(paired) : ratio(t, l);
  const ci = paired.length ? medianInterval(paired) : null;
  let mark = '';
  if (check !== null && Number.isFinite(r)) mark = verdict(name, r, ci, check, tc || lc);
  rows.push([name, star(t, tc, digits), star(l, lc, digits), src, f(r, 2) + ciText(ci), target, mark]);
}
const ppC = (res) => (res.pp.runs || []).some((x) => x.contended);
const genC = (res, s) => ((res.gen[s] && res.gen[s].waves) || []).some((w) => w.contended);
const engineTgC = (engine.tg.runs || []).some((x) => x.contended);

// Against llama.cpp the one-stream ratio is the median of the ratios of samples taken in the same
// round (load.mjs alternates the programs sample by sample), not the ratio of the medians: the
// machine's speed drifts by more than the differences measured, and a pair sees the same machine.
const pairs = (ts, ls) => ts.slice(0, Math.min(ts.length, ls.length)).map((t, i) => ratio(t, ls[i]));
const ppPairs = pairs((tandem.pp.runs || []).map((x) => x.tps), (server.pp.runs || []).map((x) => x.tps));
const gen1Pairs = tandem.gen[1] && server.gen[1]
  ? pairs(tandem.gen[1].waves.map((w) => w.aggTps), server.gen[1].waves.map((w) => w.aggTps)) : [];
const ppBenchPairs = pairs((tandem.pp.runs || []).map((x) => x.tps), engine.pp.runs.map((x) => x.tps));
const tgBenchPairs = tandem.gen[1]
  ? pairs(tandem.gen[1].waves.map((w) => w.aggTps), engine.tg.runs.map((x) => x.tps)) : [];

const streams = Object.keys(tandem.gen).map(Number).sort((x, y) => x - y);
const g1t = tandem.gen[1];
const g1s = server.gen[1];

const ppT = ppC(tandem);
const ppS = ppC(server);
row(`prompt tok/s, 1 stream (pp${engine.pp.promptTokens})`, tandem.pp.tps, engine.pp.tps, 'llama-bench',
  { target: `>= ${targetSingle}x`, check: targetSingle, tc: ppT, lc: ppC(engine),
    paired: ppBenchPairs });
row(`prompt tok/s, 1 stream (~${f(tandem.pp.promptTokens, 0)} tok)`, tandem.pp.tps, server.pp.tps,
  'llama-server', { target: `>= ${targetSingle}x`, check: targetSingle, tc: ppT, lc: ppS,
    paired: ppPairs });
row('TTFT ms, 1 stream, long prompt', tandem.pp.ttftMs, server.pp.ttftMs, 'llama-server',
  { digits: 0, tc: ppT, lc: ppS });
if (g1t && g1s) {
  const tc = genC(tandem, 1);
  const lc = genC(server, 1);
  row(`gen tok/s, 1 stream (tg${engine.tg.genTokens})`, g1t.aggTps, engine.tg.tps, 'llama-bench',
    { target: `>= ${targetSingle}x`, check: targetSingle, tc, lc: engineTgC,
      paired: tgBenchPairs });
  row('gen tok/s, 1 stream', g1t.aggTps, g1s.aggTps, 'llama-server',
    { target: `>= ${targetSingle}x`, check: targetSingle, tc, lc,
      paired: gen1Pairs });
  row('TTFT ms, 1 stream, short prompt', g1t.ttftP50Ms, g1s.ttftP50Ms, 'llama-server',
    { digits: 0, tc, lc });
}
for (const s of streams) {
  if (s === 1) continue;
  const t = tandem.gen[s];
  const l = server.gen[s];
  if (!t || !l) continue;
  const tc = genC(tandem, s);
  const lc = genC(server, s);
  row(`gen tok/s, ${s} streams, aggregate`, t.aggTps, l.aggTps, 'llama-server', { tc, lc });
  if (engine.gen[s]) {
    row(`gen tok/s, ${s} streams, aggregate`, t.aggTps, engine.gen[s].aggTps, 'llama-batched-bench',
      { tc, lc: genC(engine, s) });
  }
  row(`gen tok/s, ${s} streams, mean per stream`, t.perStreamTps, l.perStreamTps, 'llama-server', { tc, lc });
  row(`TTFT ms, ${s} streams, p50`, t.ttftP50Ms, l.ttftP50Ms, 'llama-server', { digits: 0, tc, lc });
  row(`TTFT ms, ${s} streams, p99`, t.ttftP99Ms, l.ttftP99Ms, 'llama-server', { digits: 0, tc, lc });
}
const sMax = Math.max(...streams);
if (g1t && g1s && sMax > 1 && tandem.gen[sMax] && server.gen[sMax]) {
  // The verdict is the median over rounds of each round's ratio (load.mjs measures a server's
  // one-stream and many-stream waves back to back); the ratio of the medians, whose waves may lie
  // far apart, is shown beside it.
  const perRound = (res, g1) => (res.scaling ? res.scaling.median : res.gen[sMax].aggTps / g1.aggTps);
  const st = perRound(tandem, g1t);
  const ss = perRound(server, g1s);
  const r = ratio(st, ss);
  const tc = genC(tandem, 1) || genC(tandem, sMax);
  const lc = genC(server, 1) || genC(server, sMax);
  const sci = tandem.scaling ? medianInterval(tandem.scaling.rounds) : null;
  const mark = verdict(`scaling ${sMax}/1 (Tandem)`, st, sci, targetScaling, tc);
  rows.push([`scaling: aggregate gen ${sMax} streams / 1, per round`, `${f(st, 2)}x${ciText(sci)}${tc ? '*' : ''}`,
    `${f(ss, 2)}x${lc ? '*' : ''}`, 'llama-server', f(r, 2), `Tandem >= ${targetScaling}x`, mark]);
  const mt = tandem.gen[sMax].aggTps / g1t.aggTps;
  const ms = server.gen[sMax].aggTps / g1s.aggTps;
  if (engine.scaling) {
    // The engine alone, in the same rounds: the forward pass with no server, sampler or network
    // around it, what this machine allows in those minutes.
    const se = engine.scaling.median;
    const ec = genC(engine, 1) || genC(engine, sMax);
    rows.push([`scaling: aggregate gen ${sMax} streams / 1, per round`, `${f(st, 2)}x${tc ? '*' : ''}`,
      `${f(se, 2)}x${ec ? '*' : ''}`, 'llama-batched-bench', f(ratio(st, se), 2), '', '']);
  }
  rows.push([`scaling: median ${sMax}-stream aggregate / median 1-stream`, `${f(mt, 2)}x${tc ? '*' : ''}`,
    `${f(ms, 2)}x${lc ? '*' : ''}`, 'llama-server', f(ratio(mt, ms), 2), '', '']);
}
row('peak RSS MB (VmHWM)', +a['tandem-rss-kb'] / 1024, +a['server-rss-kb'] / 1024, 'llama-server',
  { digits: 0 });

const header = ['measurement', 'Tandem', 'llama.cpp', 'from', 'ratio', 'target', ''];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => (i === 0 || i === 3 || i >= 5 ? String(c).padEnd(widths[i])
  : String(c).padStart(widths[i]))).join('  ').trimEnd();
console.log(`\n${a.name}`);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));

// Notes the reader needs to trust the figures.
const notes = [];
for (const [who, res] of [['Tandem', tandem], ['llama-server', server]]) {
  for (const s of streams) {
    const g = res.gen[s];
    if (g && g.earlyStops > 0) {
      notes.push(`${who}: ${g.earlyStops}/${g.requests} streams at ${s} stopped before ${res.args.genTokens} ` +
        `tokens (mean ${f(g.completionTokensMean)}, min ${g.completionTokensMin}); tokens/s use the exact usage counts`);
    }
  }
  if (res.pp.cachedTokens > 0) {
    notes.push(`${who}: ${f(res.pp.cachedTokens)} of ~${f(res.pp.promptTokens, 0)} prompt tokens came from the KV cache ` +
      '(the chat template\'s opening); prompt tok/s counts only the tokens computed');
  }
}
if (ppPairs.length || gen1Pairs.length) {
  notes.push(`one stream against llama-server, the median of the ratios of samples of the same round: ` +
    `prompt ${ppPairs.map((x) => f(x, 2)).join(' / ')}; generation ${gen1Pairs.map((x) => f(x, 2)).join(' / ')}`);
}
if (ppBenchPairs.length || tgBenchPairs.length) {
  notes.push(`one stream against llama-bench (-r 1 per round), likewise: ` +
    `prompt ${ppBenchPairs.map((x) => f(x, 2)).join(' / ')}; generation ${tgBenchPairs.map((x) => f(x, 2)).join(' / ')}`);
}
for (const [who, res] of [['Tandem', tandem], ['llama-server', server], ['llama-batched-bench', engine]]) {
  if (res.scaling) {
    notes.push(`${who}: scaling ${res.scaling.streams}/1 per round ${res.scaling.rounds.map((x) => f(x, 2)).join(' / ')}`);
  }
}
if (engine.gen[1] && engine.gen[sMax]) {
  notes.push(`llama-batched-bench's sequences have prompts of ${engine.gen[1].promptTokens} random tokens ` +
    '(a wave\'s prompt length) and are not sampled: the forward pass alone');
}
if (a['servers-other-cpu'] !== undefined) {
  notes.push(`CPU used by everything but the programs under test and the load driver, in % of one core: ` +
    `${a['servers-other-cpu']}% over the whole load`);
}
for (const [who, res] of [['Tandem', tandem], ['llama-server', server], ['llama.cpp tools', engine]]) {
  const c = res.contention;
  if (c && (c.retried || c.keptContended || c.waitedS)) {
    notes.push(`${who}: waited ${f(c.waitedS, 0)} s for other work to stop, dropped ${c.retried} contended samples` +
      (c.keptContended ? `, and kept ${c.keptContended} contended ones (wait budget spent): treat those figures with care` : ''));
  }
}
if (rows.some((r) => /\*$/.test(r[1]) || /\*$/.test(r[2]))) {
  notes.push('* = measured (in part) while other work used the machine: not a clean figure');
}
for (const n of notes) console.log(`  note: ${n}`);
if (a.summary) {
  appendFileSync(a.summary, JSON.stringify({ name: a.name, verdicts }) + '\n');
}
