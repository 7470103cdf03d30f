#!/usr/bin/env node
// Load driver for bench/local: drives one OpenAI-compatible chat server (Tandem or
// llama-server) with streamed requests and writes what it measured as JSON.
//
//   node load.mjs --url http://127.0.0.1:PORT/v1/chat/completions --model m --label tandem \
//     --prompt-tokens 512 --gen-tokens 128 --streams 1,4,8 --repeats 3 [--ignore-eos] --out FILE
//
// Phases, in order, one at a time:
//   warm-up      one short request (not measured)
//   calibrate    finds how many random words make a prompt of --prompt-tokens tokens (the
//                chat template included), from the server's own usage.prompt_tokens
//   pp           --repeats sequential requests, a ~prompt-tokens prompt of random words (unique
//                from the first word, so no KV-cache prefix is reused), max_tokens 1, streamed:
//                prompt tokens/s = (prompt_tokens - cached_tokens) / time to first token
//   gen S        for each S in --streams: --repeats waves of S concurrent streams, each a short
//                unique prompt, max_tokens --gen-tokens, greedy. Per stream: TTFT, completion
//                tokens (usage, exact), tokens/s = (completion - 1) / (end - first token).
//                Per wave: aggregate tokens/s = sum(completion - 1) / (last end - first first token).
// Zero npm dependencies: Node 18+ (global fetch with streamed bodies).
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

function parseArgs(argv) {
  const a = {
    url: '', model: 'm', label: 'server', promptTokens: 512, genTokens: 128, streams: [1, 4, 8],
    repeats: 3, ignoreEos: false, out: '', shortWords: 12, timeoutMs: 600000, seed: 1,
  };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    switch (k) {
      case '--url': a.url = v(); break;
      case '--model': a.model = v(); break;
      case '--label': a.label = v(); break;
      case '--prompt-tokens': a.promptTokens = +v(); break;
      case '--gen-tokens': a.genTokens = +v(); break;
      case '--streams': a.streams = v().split(',').filter(Boolean).map(Number); break;
      case '--repeats': a.repeats = +v(); break;
      case '--ignore-eos': a.ignoreEos = true; break;
      case '--out': a.out = v(); break;
      case '--short-words': a.shortWords = +v(); break;
      case '--timeout-ms': a.timeoutMs = +v(); break;
      case '--seed': a.seed = +v(); break;
      default: throw new Error(`unknown argument ${k}`);
    }
  }
  if (!a.url) throw new Error('--url is required');
  for (const [name, n] of [['--prompt-tokens', a.promptTokens], ['--gen-tokens', a.genTokens],
    ['--repeats', a.repeats]]) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  }
  if (!a.streams.length || a.streams.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error('--streams must be a comma-separated list of positive integers');
  }
  return a;
}

const args = parseArgs(process.argv);

// A small deterministic PRNG (mulberry32), so runs against both servers send the same texts.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(args.seed);

const WORDS = (
  'time year people way day man thing woman life child world school state family student group ' +
  'country problem hand part place case week company system program question work government ' +
  'number night point home water room mother area money story fact month lot right study book ' +
  'eye job word business issue side kind head house service friend father power hour game line ' +
  'end member law car city community name president team minute idea kid body information back ' +
  'parent face others level office door health person art war history party result change ' +
  'morning reason research girl guy moment air teacher force education foot boy age policy ' +
  'music market sense nation plan college interest death experience effect use class control ' +
  'care field development role effort rate heart drug show leader light voice wife police mind ' +
  'price report decision son view relationship town road arm difference value building action ' +
  'model season society tax director position player record paper space ground form event ' +
  'river garden stone window table bridge letter summer winter forest island valley mountain'
).split(' ');

let requestCounter = 0;
function words(n) {
  // A unique first word (request counter + random tag) so no two prompts share a prefix beyond
  // the chat template's own opening tokens.
  const out = [`req${++requestCounter}x${Math.floor(rand() * 1e9).toString(36)}`];
  for (let i = 1; i < n; i++) out.push(WORDS[Math.floor(rand() * WORDS.length)]);
  return out.join(' ');
}

// One streamed chat request. Returns timings (ms, performance.now()) and the usage numbers.
async function chat(content, maxTokens) {
  const body = {
    model: args.model,
    messages: [{ role: 'user', content }],
    max_tokens: maxTokens,
    stream: true,
    stream_options: { include_usage: true },
    // Greedy and otherwise neutral, the same for both servers.
    temperature: 0, top_p: 1, top_k: 0, min_p: 0, repeat_penalty: 1, seed: 42,
  };
  if (args.ignoreEos) body.ignore_eos = true;
  const r = {
    start: performance.now(), first: 0, end: 0, promptTokens: 0, cachedTokens: 0,
    completionTokens: -1, finishReason: null, chunks: 0,
  };
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), args.timeoutMs);
  try {
    const res = await fetch(args.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: ctl.signal,
    });
    if (res.status !== 200) {
      throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 400)}`);
    }
    const decoder = new TextDecoder();
    let buf = '';
    let done = false;
    for await (const part of res.body) {
      const now = performance.now();
      buf += decoder.decode(part, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') { done = true; continue; }
        let ev;
        try { ev = JSON.parse(data); } catch { throw new Error(`bad SSE data: ${data.slice(0, 200)}`); }
        if (ev.error) throw new Error(`stream error: ${JSON.stringify(ev.error).slice(0, 400)}`);
        const ch = ev.choices && ev.choices[0];
        if (ch) {
          const d = ch.delta || {};
          const text = (d.content || '') + (d.reasoning_content || '');
          if ((text.length > 0 || (d.tool_calls && d.tool_calls.length)) && !r.first) r.first = now;
          if (text.length > 0) r.chunks++;
          if (ch.finish_reason) {
            r.finishReason = ch.finish_reason;
            r.end = now;
            if (!r.first) r.first = now; // no visible text (e.g. one token that decodes to nothing)
          }
        }
        if (ev.usage) {
          r.promptTokens = ev.usage.prompt_tokens;
          r.completionTokens = ev.usage.completion_tokens;
          r.cachedTokens = (ev.usage.prompt_tokens_details || {}).cached_tokens || 0;
        }
      }
    }
    if (!done && !r.finishReason) throw new Error('stream ended without a finish_reason or [DONE]');
    if (!r.end) r.end = performance.now();
    if (!r.first) r.first = r.end;
    if (r.completionTokens < 0) throw new Error('no usage chunk in the stream (stream_options.include_usage)');
  } finally {
    clearTimeout(timer);
  }
  return r;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const pct = (xs, p) => { // nearest rank
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const log = (msg) => process.stderr.write(`   [${args.label}] ${msg}\n`);

async function main() {
  const result = { label: args.label, args: { ...args, url: undefined } };

  // Warm-up (not measured): first-use allocations, page faults of the weights, graph set-up.
  await chat(words(args.shortWords), 8);

  // Calibrate: prompt tokens for a 1-word prompt (the template), then tokens per word.
  const base = (await chat(words(1), 1)).promptTokens;
  let n = Math.max(2, Math.round((args.promptTokens - base) / 1.3));
  let got = 0;
  for (let i = 0; i < 3; i++) {
    got = (await chat(words(n), 1)).promptTokens;
    if (Math.abs(got - args.promptTokens) <= Math.max(4, args.promptTokens * 0.01)) break;
    const perWord = Math.max(0.2, (got - base) / Math.max(1, n - 1));
    n = Math.max(2, Math.round(n + (args.promptTokens - got) / perWord));
  }
  log(`calibrated: ${n} words -> ~${got} prompt tokens (template alone: ${base})`);
  result.calibration = { words: n, promptTokens: got, templateTokens: base };

  // Prompt processing: one stream, sequential.
  const pp = [];
  for (let i = 0; i < args.repeats; i++) {
    const r = await chat(words(n), 1);
    const ttft = (r.first - r.start) / 1000;
    const decoded = r.promptTokens - r.cachedTokens;
    pp.push({ ttftMs: ttft * 1000, promptTokens: r.promptTokens, cachedTokens: r.cachedTokens,
      tps: decoded / ttft });
  }
  result.pp = {
    runs: pp,
    tps: median(pp.map((x) => x.tps)),
    ttftMs: median(pp.map((x) => x.ttftMs)),
    promptTokens: mean(pp.map((x) => x.promptTokens)),
    cachedTokens: mean(pp.map((x) => x.cachedTokens)),
  };
  log(`pp: ${result.pp.tps.toFixed(1)} tok/s (median of ${args.repeats}), ` +
    `${result.pp.promptTokens.toFixed(0)} prompt tokens, ${result.pp.cachedTokens.toFixed(1)} cached, ` +
    `TTFT ${result.pp.ttftMs.toFixed(0)} ms`);

  // Generation: waves of S concurrent streams.
  result.gen = {};
  for (const s of args.streams) {
    const waves = [];
    const streams = [];
    for (let w = 0; w < args.repeats; w++) {
      const rs = await Promise.all(Array.from({ length: s }, () => chat(words(args.shortWords), args.genTokens)));
      const firstFirst = Math.min(...rs.map((r) => r.first));
      const lastEnd = Math.max(...rs.map((r) => r.end));
      const waveStart = Math.min(...rs.map((r) => r.start));
      const after = rs.reduce((a, r) => a + Math.max(0, r.completionTokens - 1), 0);
      const total = rs.reduce((a, r) => a + r.completionTokens, 0);
      waves.push({
        aggTps: after / ((lastEnd - firstFirst) / 1000),
        // end to end: every completion token over the wave's whole wall time (prompts included)
        e2eTps: total / ((lastEnd - waveStart) / 1000),
        wallMs: lastEnd - waveStart,
      });
      for (const r of rs) {
        const dt = (r.end - r.first) / 1000;
        streams.push({
          ttftMs: r.first - r.start,
          completionTokens: r.completionTokens,
          promptTokens: r.promptTokens,
          finishReason: r.finishReason,
          tps: r.completionTokens > 1 && dt > 0 ? (r.completionTokens - 1) / dt : NaN,
        });
      }
    }
    const ttfts = streams.map((x) => x.ttftMs);
    const g = {
      streams: s,
      waves,
      aggTps: median(waves.map((w) => w.aggTps)),
      e2eTps: median(waves.map((w) => w.e2eTps)),
      perStreamTps: mean(streams.map((x) => x.tps).filter((x) => Number.isFinite(x))),
      ttftP50Ms: pct(ttfts, 50),
      ttftP99Ms: pct(ttfts, 99),
      completionTokensMean: mean(streams.map((x) => x.completionTokens)),
      completionTokensMin: Math.min(...streams.map((x) => x.completionTokens)),
      earlyStops: streams.filter((x) => x.completionTokens < args.genTokens).length,
      requests: streams.length,
      promptTokens: mean(streams.map((x) => x.promptTokens)),
    };
    result.gen[s] = g;
    log(`gen x${s}: aggregate ${g.aggTps.toFixed(1)} tok/s, per stream ${g.perStreamTps.toFixed(1)} tok/s, ` +
      `TTFT p50 ${g.ttftP50Ms.toFixed(0)} ms p99 ${g.ttftP99Ms.toFixed(0)} ms, ` +
      `completion tokens mean ${g.completionTokensMean.toFixed(1)} (early stops ${g.earlyStops}/${g.requests})`);
  }
  const json = JSON.stringify(result, null, 1);
  if (args.out) writeFileSync(args.out, json + '\n'); else process.stdout.write(json + '\n');
}

main().catch((e) => {
  process.stderr.write(`load.mjs [${args.label}]: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
