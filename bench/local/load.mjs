#!/usr/bin/env node
// Load driver for bench/local: drives one or more OpenAI-compatible servers (Tandem,
// llama-server) with streamed requests, one request or wave at a time, alternating between
// the servers sample by sample, and writes what it measured per server as JSON.
//
//   node load.mjs --target label=tandem,url=http://127.0.0.1:P/v1/chat/completions,pid=N,out=FILE \
//                 --target label=llama-server,url=...,pid=N,out=FILE,ignore-eos,valid-text \
//                 --prompt-tokens 512 --gen-tokens 128 --streams 1,4,8 --repeats 3
//
//   with  --engine label=llama.cpp,bench=llama-bench,batched=llama-batched-bench,model=M.gguf,\
//                  threads=2,batch=512,ubatch=512,ctx=8192,out=FILE
// llama.cpp's engine alone (no server) takes its turn in the same alternation: a prompt sample is
// `llama-bench -p P -n 0 -r 1`, and a generation round is `llama-bench -p 0 -n G -r 1` (one stream)
// plus `llama-batched-bench -npl 1,4,8` (every wave size at once, random tokens, no sampling: the
// forward pass alone, the ceiling of what a server on this machine can reach in that round).
//
// Only one server is under load at any moment. Alternating (A B A B ...) rather than running
// one server's whole suite after the other's means a slow drift in the machine's speed (a
// shared host) hits both alike instead of skewing the ratio.
//
// Phases, in order (each for every server before the next):
//   warm-up      one short request (not measured)
//   calibrate    finds how many random words make a prompt of about 1.5% under --prompt-tokens
//                tokens (the chat template included), from the server's own
//                usage.prompt_tokens: llama-bench's context holds exactly --prompt-tokens, and a
//                prompt one token longer makes llama.cpp pad the attention's view of the KV
//                cache to the next 256 cells (512 -> 768), which costs some 5%
//   pp           --pp-repeats requests (default --repeats) with such a prompt of random words
//                (unique from the first word, so no KV-cache prefix is reused), max_tokens 1,
//                streamed: prompt tokens/s = (prompt_tokens - cached_tokens) / time to first token
//   gen S        for each S in --streams: --repeats waves of S concurrent streams, each a short
//                unique prompt, max_tokens --gen-tokens, greedy. Per stream: TTFT, completion
//                tokens (usage, exact), tokens/s = (completion - 1) / (end - first token).
//                Per wave: aggregate tokens/s = sum(completion - 1) / (last end - first first token).
//
// valid-text (for llama-server): llama-server parses every answer as it streams and fails the
// request (HTTP 500) when the text is not well-formed UTF-8, which a random-weight model's
// tokens often are not. So it is sent logit_bias +100 for the token " the" (looked up with its
// /tokenize): the greedy pick is then always that token and the text stays valid, while the
// forward pass and the sampler chain over the whole vocabulary cost what they always do.
//
// Contention guard (the machine may be shared): with pid= (the server's), every sample first
// waits until the machine is quiet (< --max-other % of one core busy over 0.5 s), then counts
// the CPU that everything but that server and this driver used while it ran; a sample where
// that exceeds --max-other is retried, up to --repeats extra tries per measurement and
// --wait-budget-s seconds of waiting per server, after which it is kept and flagged.
// Zero npm dependencies: Node 18+ (global fetch with streamed bodies), Linux /proc.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

// "k=v,flag,..." -> [[k, v], [flag, null], ...]
function specEntries(spec) {
  return spec.split(',').map((part) => {
    const eq = part.indexOf('=');
    return eq < 0 ? [part, null] : [part.slice(0, eq), part.slice(eq + 1)];
  });
}

function parseTarget(spec) {
  const t = { kind: 'server', label: '', url: '', pid: 0, out: '', ignoreEos: false, validText: false };
  for (const [k, v] of specEntries(spec)) {
    if (k === 'label') t.label = v;
    else if (k === 'url') t.url = v;
    else if (k === 'pid') t.pid = +v;
    else if (k === 'out') t.out = v;
    else if (k === 'ignore-eos') t.ignoreEos = true;
    else if (k === 'valid-text') t.validText = true;
    else throw new Error(`--target: unknown key '${k}'`);
  }
  if (!t.url || !t.label) throw new Error('--target needs label= and url=');
  t.base = t.url.replace(/\/v1\/chat\/completions$/, '');
  return t;
}

function parseEngine(spec) {
  const e = { kind: 'engine', label: 'llama.cpp', bench: '', batched: '', model: '', out: '',
    threads: 0, batch: 512, ubatch: 512, ctx: 0 };
  for (const [k, v] of specEntries(spec)) {
    if (v === null) throw new Error(`--engine: '${k}' is not key=value`);
    if (['label', 'bench', 'batched', 'model', 'out'].includes(k)) e[k] = v;
    else if (['threads', 'batch', 'ubatch', 'ctx'].includes(k)) e[k] = +v;
    else throw new Error(`--engine: unknown key '${k}'`);
  }
  if (!e.bench || !e.batched || !e.model || !e.threads || !e.ctx) {
    throw new Error('--engine needs bench=, batched=, model=, threads= and ctx=');
  }
  return e;
}

function parseArgs(argv) {
  const a = {
    targets: [], model: 'm', promptTokens: 512, genTokens: 128, streams: [1, 4, 8], repeats: 3, ppRepeats: 0,
    shortWords: 12, timeoutMs: 600000, seed: 1, maxOther: 50, waitBudgetS: 300, hz: 100,
  };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    switch (k) {
      case '--target': a.targets.push(parseTarget(v())); break;
      case '--engine': a.targets.push(parseEngine(v())); break;
      case '--model': a.model = v(); break;
      case '--prompt-tokens': a.promptTokens = +v(); break;
      case '--gen-tokens': a.genTokens = +v(); break;
      case '--streams': a.streams = v().split(',').filter(Boolean).map(Number); break;
      case '--repeats': a.repeats = +v(); break;
      case '--pp-repeats': a.ppRepeats = +v(); break;
      case '--short-words': a.shortWords = +v(); break;
      case '--timeout-ms': a.timeoutMs = +v(); break;
      case '--seed': a.seed = +v(); break;
      case '--max-other': a.maxOther = +v(); break;
      case '--wait-budget-s': a.waitBudgetS = +v(); break;
      case '--hz': a.hz = +v(); break;
      default: throw new Error(`unknown argument ${k}`);
    }
  }
  if (!a.targets.some((t) => t.kind !== 'engine')) throw new Error('at least one --target is required');
  for (const [name, n] of [['--prompt-tokens', a.promptTokens], ['--gen-tokens', a.genTokens],
    ['--repeats', a.repeats], ['--pp-repeats', a.ppRepeats || a.repeats]]) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  }
  if (!a.streams.length || a.streams.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error('--streams must be a comma-separated list of positive integers');
  }
  return a;
}

const args = parseArgs(process.argv);

// A small deterministic PRNG (mulberry32), so runs send the same texts.
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

async function validTextBias(t) {
  const res = await fetch(`${t.base}/tokenize`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: ' the' }),
  });
  if (res.status !== 200) throw new Error(`${t.label} /tokenize: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const tokens = (await res.json()).tokens;
  if (!Array.isArray(tokens) || tokens.length !== 1) throw new Error(`${t.label} /tokenize: ' the' is not one token`);
  return { [String(tokens[0])]: 100 };
}

// One streamed request to target t. Returns timings (ms, performance.now()) and usage.
async function chat(t, content, maxTokens) {
  const messages = [{ role: 'user', content }];
  const body = {
    model: args.model,
    messages,
    max_tokens: maxTokens,
    stream: true,
    stream_options: { include_usage: true },
    // Greedy and otherwise neutral, the same for every server.
    temperature: 0, top_p: 1, top_k: 0, min_p: 0, repeat_penalty: 1, seed: 42,
  };
  if (t.ignoreEos) body.ignore_eos = true;
  if (t.logitBias) body.logit_bias = t.logitBias;
  const r = {
    start: performance.now(), first: 0, end: 0, promptTokens: 0, cachedTokens: 0,
    completionTokens: -1, finishReason: null, chunks: 0,
    computeMs: NaN, // server-side: Tandem's usage.tandem_compute_us, llama-server's timings
  };
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), args.timeoutMs);
  try {
    const res = await fetch(t.url, {
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
          if (ev.usage.tandem_compute_us !== undefined) r.computeMs = ev.usage.tandem_compute_us / 1000;
        }
        if (ev.timings && ev.timings.prompt_ms !== undefined) {
          r.computeMs = ev.timings.prompt_ms + ev.timings.predicted_ms;
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
const log = (t, msg) => process.stderr.write(`   [${t.label}] ${msg}\n`);
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// ---- contention guard (Linux /proc)
function busyTicks() { // all CPUs: user nice system irq softirq steal
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return f[1] + f[2] + f[3] + f[6] + f[7] + f[8];
}
function pidTicks(pid) { // utime + stime; the name field may hold spaces
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch { return 0; }
}
function childTicks() { // this driver's reaped children (llama-bench runs): cutime + cstime
  const s = readFileSync('/proc/self/stat', 'utf8');
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(rest[13]) + Number(rest[14]);
}
// The program under test: a server (its pid) or the engine's runs (this driver's children).
const watched = (t) => t.kind === 'engine' || t.pid > 0;
function snap(t) {
  const srv = t.kind === 'engine' ? childTicks() : t.pid ? pidTicks(t.pid) : 0;
  return { t: performance.now(), busy: busyTicks(), srv, self: process.cpuUsage() };
}
// % of one core used by everything except the server and this driver between two snaps.
function otherPct(a, b) {
  const dt = (b.t - a.t) / 1000;
  const self = process.cpuUsage(a.self);
  const selfTicks = ((self.user + self.system) / 1e6) * args.hz;
  return Math.max(0, ((b.busy - a.busy - (b.srv - a.srv) - selfTicks) / args.hz / dt) * 100);
}
async function waitQuiet(t) {
  if (!watched(t)) return;
  while (t.contention.waitedS < args.waitBudgetS) {
    const a = snap(t);
    await sleep(500);
    const b = snap(t);
    // between samples every server should be idle: count them too
    const dt = (b.t - a.t) / 1000;
    const self = process.cpuUsage(a.self);
    const all = ((b.busy - a.busy - ((self.user + self.system) / 1e6) * args.hz) / args.hz / dt) * 100;
    if (all < args.maxOther) return;
    await sleep(1000);
    t.contention.waitedS += 1.5;
  }
}
// One sample of fn(t) on a quiet machine, retried while contended (within the limits).
async function sample(t, name, fn) {
  const c = t.contention;
  for (let tries = 1; ; tries++) {
    await waitQuiet(t);
    const a = snap(t);
    const v = await fn(t);
    const b = snap(t);
    const other = watched(t) ? otherPct(a, b) : 0;
    // ticks are 10 ms: too coarse to judge a short sample (the quiet wait before it must do)
    const contended = (b.t - a.t) >= 500 && other >= args.maxOther;
    if (contended && tries <= 2 && c.retried < args.repeats * 4 && c.waitedS < args.waitBudgetS) {
      c.retried++;
      log(t, `${name}: sample dropped, other work used ${other.toFixed(0)}% of a core; retrying`);
      continue;
    }
    if (contended) c.keptContended++;
    return { ...v, otherPct: other, contended };
  }
}
// ---- llama.cpp alone: its tools as child processes (stdout is their result, stderr their log)
function runTool(file, argv) {
  return new Promise((resolve, reject) => {
    execFile(file, argv, { maxBuffer: 64 << 20, timeout: args.timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${argv.join(' ')}: ${err.message}\n${String(stderr).slice(-800)}`));
      else resolve(String(stdout));
    });
  });
}
const engineArgs = (e) => ['-m', e.model, '-t', `${e.threads}`, '-b', `${e.batch}`, '-ub', `${e.ubatch}`];
// llama-bench, one repetition (after its own warm-up run): pp tokens/s (n = 0) or tg (p = 0).
async function benchRun(e, p, n) {
  const out = await runTool(e.bench, [...engineArgs(e), '-p', `${p}`, '-n', `${n}`, '-r', '1', '-o', 'json']);
  const entry = JSON.parse(out).find((x) => x.n_prompt === p && x.n_gen === n);
  if (!entry || !Number.isFinite(entry.avg_ts)) throw new Error(`llama-bench -p ${p} -n ${n}: no result in ${out.slice(0, 300)}`);
  return entry.avg_ts;
}
// llama-batched-bench: every wave size in one run, each sequence a prompt of `npp` random tokens
// and `args.genTokens` generated ones; aggregate generation tokens/s by size.
async function batchedRun(e, npp, streams) {
  const out = await runTool(e.batched, [...engineArgs(e), '-c', `${e.ctx}`, '-npp', `${npp}`,
    '-ntg', `${args.genTokens}`, '-npl', streams.join(','), '--output-format', 'jsonl']);
  const bySize = {};
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const run = JSON.parse(line);
    bySize[run.pl] = run.speed_tg;
  }
  for (const s of streams) {
    if (!Number.isFinite(bySize[s])) throw new Error(`llama-batched-bench: no result for ${s} sequences in ${out.slice(0, 300)}`);
  }
  return bySize;
}

// `repeats` samples of fn for every target, alternating between targets.
async function alternate(name, repeats, fn) {
  const out = new Map(args.targets.map((t) => [t, []]));
  for (let i = 0; i < repeats; i++) {
    // the order flips every round: A B, B A, A B ...
    const order = i % 2 ? [...args.targets].reverse() : args.targets;
    for (const t of order) out.get(t).push(await sample(t, name, fn));
  }
  return out;
}

async function main() {
  const servers = args.targets.filter((t) => t.kind === 'server');
  for (const t of args.targets) {
    t.contention = { retried: 0, keptContended: 0, waitedS: 0 };
    t.result = { label: t.label, kind: t.kind, args: { ...args, targets: undefined } };
    if (t.validText) t.logitBias = await validTextBias(t);
    t.result.logitBias = t.logitBias || null;
  }

  // Warm-up (not measured) and calibration, per server. The engine's generation prompts are as
  // long as a wave's short prompt on the first server.
  for (const t of servers) {
    const warm = await chat(t, words(args.shortWords), 8);
    if (!args.shortPromptTokens) args.shortPromptTokens = warm.promptTokens;
    // Random words vary in length: aim a little below --prompt-tokens, so that a prompt (chat
    // template included) rarely holds more tokens than llama-bench's context does.
    const want = args.promptTokens - Math.max(4, Math.round(args.promptTokens * 0.015));
    const base = (await chat(t, words(1), 1)).promptTokens;
    let n = Math.max(2, Math.round((want - base) / 1.3));
    let got = 0;
    for (let i = 0; i < 4; i++) {
      got = (await chat(t, words(n), 1)).promptTokens;
      if (Math.abs(got - want) <= Math.max(3, want * 0.005)) break;
      const perWord = Math.max(0.2, (got - base) / Math.max(1, n - 1));
      n = Math.max(2, Math.round(n + (want - got) / perWord));
    }
    log(t, `calibrated: ${n} words -> ~${got} prompt tokens (template alone: ${base})`);
    t.words = n;
    t.result.calibration = { words: n, promptTokens: got, templateTokens: base };
  }

  // Prompt processing: one stream.
  const pps = await alternate('pp', args.ppRepeats || args.repeats, async (t) => {
    if (t.kind === 'engine') return { tps: await benchRun(t, args.promptTokens, 0) };
    const r = await chat(t, words(t.words), 1);
    const ttft = (r.first - r.start) / 1000;
    const decoded = r.promptTokens - r.cachedTokens;
    return { ttftMs: ttft * 1000, promptTokens: r.promptTokens, cachedTokens: r.cachedTokens,
      tps: decoded / ttft, computeMs: r.computeMs };
  });
  for (const t of args.targets) {
    const pp = pps.get(t);
    if (t.kind === 'engine') {
      t.result.pp = { runs: pp, tps: median(pp.map((x) => x.tps)), promptTokens: args.promptTokens };
      log(t, `pp (llama-bench pp${args.promptTokens}): ${t.result.pp.tps.toFixed(1)} tok/s (median of ` +
        `${pp.length}; ${pp.map((x) => x.tps.toFixed(1)).join(' ')})`);
      continue;
    }
    t.result.pp = {
      runs: pp,
      tps: median(pp.map((x) => x.tps)),
      ttftMs: median(pp.map((x) => x.ttftMs)),
      promptTokens: mean(pp.map((x) => x.promptTokens)),
      cachedTokens: mean(pp.map((x) => x.cachedTokens)),
      computeMs: median(pp.map((x) => x.computeMs)),
    };
    const p = t.result.pp;
    log(t, `pp: ${p.tps.toFixed(1)} tok/s (median of ${pp.length}; ` +
      `${pp.map((x) => x.tps.toFixed(1)).join(' ')}), ${p.promptTokens.toFixed(0)} prompt tokens, ` +
      `${p.cachedTokens.toFixed(1)} cached, TTFT ${p.ttftMs.toFixed(0)} ms (server compute ${p.computeMs.toFixed(0)} ms)`);
  }

  // Generation: waves of S concurrent streams. A round gives each server one wave of every size
  // in a row (the order of the servers flips every round), so a server's one-stream and
  // many-stream waves are measured less than a minute apart: the machine's speed drifts (on a shared
  // VM by 30% within minutes), and a scaling taken from waves far apart measures the drift.
  const wave = async (t, s) => {
    const rs = await Promise.all(Array.from({ length: s }, () => chat(t, words(args.shortWords), args.genTokens)));
    const firstFirst = Math.min(...rs.map((r) => r.first));
    const lastEnd = Math.max(...rs.map((r) => r.end));
    const waveStart = Math.min(...rs.map((r) => r.start));
    const after = rs.reduce((a, r) => a + Math.max(0, r.completionTokens - 1), 0);
    const total = rs.reduce((a, r) => a + r.completionTokens, 0);
    const w = {
      aggTps: after / ((lastEnd - firstFirst) / 1000),
      // end to end: every completion token over the wave's whole wall time (prompts included)
      e2eTps: total / ((lastEnd - waveStart) / 1000),
      wallMs: lastEnd - waveStart,
      streams: [],
    };
    for (const r of rs) {
      const dt = (r.end - r.first) / 1000;
      w.streams.push({
        ttftMs: r.first - r.start,
        completionTokens: r.completionTokens,
        promptTokens: r.promptTokens,
        finishReason: r.finishReason,
        tps: r.completionTokens > 1 && dt > 0 ? (r.completionTokens - 1) / dt : NaN,
        computeMs: r.computeMs,
        wallMs: r.end - r.start,
      });
    }
    return w;
  };
  const gen = new Map(args.targets.map((t) => [t, new Map(args.streams.map((s) => [s, []]))]));
  const engineTg = new Map(args.targets.map((t) => [t, []]));
  for (let i = 0; i < args.repeats; i++) {
    const order = i % 2 ? [...args.targets].reverse() : args.targets;
    for (const t of order) {
      if (t.kind === 'engine') {
        const r = await sample(t, 'gen', async (e) => ({
          tg: await benchRun(e, 0, args.genTokens),
          bySize: await batchedRun(e, args.shortPromptTokens, args.streams),
        }));
        const mark = { contended: r.contended, otherPct: r.otherPct };
        engineTg.get(t).push({ tps: r.tg, ...mark });
        for (const s of args.streams) gen.get(t).get(s).push({ aggTps: r.bySize[s], ...mark });
        continue;
      }
      for (const s of args.streams) gen.get(t).get(s).push(await sample(t, `gen x${s}`, (x) => wave(x, s)));
    }
  }
  for (const t of args.targets) t.result.gen = {};
  for (const t of args.targets) {
    if (t.kind !== 'engine') continue;
    const tg = engineTg.get(t);
    t.result.tg = { runs: tg, tps: median(tg.map((x) => x.tps)), genTokens: args.genTokens };
    log(t, `tg (llama-bench tg${args.genTokens}): ${t.result.tg.tps.toFixed(1)} tok/s (median of ` +
      `${args.repeats}; ${tg.map((x) => x.tps.toFixed(1)).join(' ')})`);
  }
  for (const s of args.streams) {
    for (const t of args.targets) {
      const waves = gen.get(t).get(s);
      if (t.kind === 'engine') {
        t.result.gen[s] = { streams: s, waves, aggTps: median(waves.map((w) => w.aggTps)),
          promptTokens: args.shortPromptTokens };
        log(t, `gen x${s} (llama-batched-bench, prompts of ${args.shortPromptTokens} tokens): aggregate ` +
          `${t.result.gen[s].aggTps.toFixed(1)} tok/s (${waves.map((w) => w.aggTps.toFixed(1)).join(' ')})`);
        continue;
      }
      const streams = waves.flatMap((w) => w.streams);
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
        // what the server says it spent computing, and the request's wall time (both means)
        computeMs: mean(streams.map((x) => x.computeMs)),
        wallMs: mean(streams.map((x) => x.wallMs)),
      };
      t.result.gen[s] = g;
      log(t, `gen x${s}: aggregate ${g.aggTps.toFixed(1)} tok/s (${waves.map((w) => w.aggTps.toFixed(1)).join(' ')}), ` +
        `per stream ${g.perStreamTps.toFixed(1)} tok/s, TTFT p50 ${g.ttftP50Ms.toFixed(0)} ms p99 ${g.ttftP99Ms.toFixed(0)} ms, ` +
        `completion tokens mean ${g.completionTokensMean.toFixed(1)} (early stops ${g.earlyStops}/${g.requests}), ` +
        `server compute ${g.computeMs.toFixed(0)} of ${g.wallMs.toFixed(0)} ms per request`);
    }
  }
  // Scaling per round: the largest wave's aggregate over the one-stream wave of the same round.
  const sMax = Math.max(...args.streams);
  if (args.streams.includes(1) && sMax > 1) {
    for (const t of args.targets) {
      const ones = gen.get(t).get(1);
      const rounds = gen.get(t).get(sMax).map((w, i) => w.aggTps / ones[i].aggTps);
      t.result.scaling = { streams: sMax, rounds, median: median(rounds) };
      log(t, `scaling x${sMax}/x1 per round: ${rounds.map((x) => x.toFixed(2)).join(' ')} (median ${median(rounds).toFixed(2)})`);
    }
  }

  for (const t of args.targets) {
    const c = t.contention;
    t.result.contention = c;
    if (c.retried || c.keptContended || c.waitedS) {
      log(t, `contention: waited ${c.waitedS.toFixed(0)} s for a quiet machine, ` +
        `${c.retried} samples retried, ${c.keptContended} kept though contended`);
    }
    const json = JSON.stringify(t.result, null, 1);
    if (t.out) writeFileSync(t.out, json + '\n'); else process.stdout.write(json + '\n');
  }
}

main().catch((e) => {
  process.stderr.write(`load.mjs: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
