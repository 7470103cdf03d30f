// End-to-end tests of the gateway with the official openai client (pinned in package.json).
// tests/e2e/run.sh starts the mock upstream and the gateway with a generated config and runs this
// file with `node --test`; it exports TANDEM_URL, TANDEM_KEY and the prices of that config.
//
// The mock upstream's arithmetic, which the expectations below repeat:
//   prompt_tokens     = words in every message's string content + 3 per message
//   completion_tokens = words in the reply (7 for a tool call)
//   default reply     = "Hello from the mock upstream."
// A line "#mock key=value,..." in the last message scripts the mock's answer to that request.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const TANDEM_URL = process.env.TANDEM_URL;
const TANDEM_KEY = process.env.TANDEM_KEY;
if (!TANDEM_URL || !TANDEM_KEY) {
  throw new Error('TANDEM_URL and TANDEM_KEY are not set: run the suite with tests/e2e/run.sh');
}
const PRICE_IN = process.env.TANDEM_E2E_PRICE_IN ?? '0.15';
const PRICE_OUT = process.env.TANDEM_E2E_PRICE_OUT ?? '0.6';
const EMBED_PRICE_IN = process.env.TANDEM_E2E_EMBED_PRICE_IN ?? '0.02';

// The models of the generated config (run.sh).
const FALLBACK = 'e2e-fallback'; // [bad (connection refused), good]
const DIRECT = 'e2e-direct'; // [good]
const RATE_LIMITED = 'e2e-ratelimited'; // [good, upstream model "mock:status=429"]
const EMBED = 'e2e-embed'; // embeddings, [good]
const GOOD_ROUTE = 'good:mock-chat';
const DEFAULT_REPLY = 'Hello from the mock upstream.';

const client = new OpenAI({ baseURL: `${TANDEM_URL}/v1`, apiKey: TANDEM_KEY, maxRetries: 0, timeout: 20_000 });

// ---- helpers -----------------------------------------------------------------------------------

// Words as the mock counts them: runs of characters other than space, newline and tab.
function words(text) {
  return text.split(/[ \n\t]+/).filter((w) => w.length > 0).length;
}

function promptTokens(messages) {
  let n = 0;
  for (const m of messages) n += 3 + (typeof m.content === 'string' ? words(m.content) : 0);
  return n;
}

// A USD decimal string ("0.15", "3", "0.00000435") as an exact BigInt of pico-USD (1e-12 USD).
function picoUsd(text) {
  const m = /^(\d+)(?:\.(\d{1,12}))?$/.exec(text);
  assert.ok(m, `'${text}' is not a plain decimal USD amount`);
  return BigInt(m[1]) * 10n ** 12n + BigInt((m[2] ?? '').padEnd(12, '0'));
}

// The cost the gateway must charge, in pico-USD, computed exactly: a price of P USD per million
// tokens is P * 1e6 pico-USD per token (prices have at most 6 decimals, so this is an integer).
function expectedCostPico(prompt, completion, priceIn, priceOut) {
  const perTokenIn = picoUsd(priceIn) / 10n ** 6n;
  const perTokenOut = picoUsd(priceOut) / 10n ** 6n;
  return BigInt(prompt) * perTokenIn + BigInt(completion) * perTokenOut;
}

function user(content) {
  return [{ role: 'user', content }];
}

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function streamedText(chunks) {
  return chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
}

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

// ---- the gateway is up -------------------------------------------------------------------------

before(async () => {
  const res = await fetch(`${TANDEM_URL}/health`);
  assert.equal(res.status, 200, 'GET /health');
});

// ---- chat completions --------------------------------------------------------------------------

describe('chat completions', () => {
  it('answers with the upstream content, exact usage, route and cost headers', async () => {
    const messages = [
      { role: 'system', content: 'You are a terse assistant.' },
      { role: 'user', content: 'Say hello to the e2e suite' },
    ];
    const { data, response } = await client.chat.completions
      .create({ model: DIRECT, messages })
      .withResponse();

    assert.equal(response.status, 200);
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices.length, 1);
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, DEFAULT_REPLY);
    assert.equal(data.choices[0].finish_reason, 'stop');

    const prompt = promptTokens(messages); // (5 + 3) + (6 + 3) = 17
    const completion = words(DEFAULT_REPLY); // 5
    assert.equal(prompt, 17);
    assert.deepEqual(data.usage, {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    });

    assert.equal(response.headers.get('x-tandem-route'), GOOD_ROUTE);
    assert.equal(response.headers.get('x-tandem-attempts'), null, 'no fallback or retry happened');
    const cost = response.headers.get('x-tandem-cost-usd');
    assert.ok(cost, 'x-tandem-cost-usd is present');
    assert.equal(picoUsd(cost), expectedCostPico(prompt, completion, PRICE_IN, PRICE_OUT));
    // 17 * 0.15 + 5 * 0.6 USD per million tokens = 5.55e-6 USD (with the prices of run.sh)
    if (PRICE_IN === '0.15' && PRICE_OUT === '0.6') assert.equal(cost, '0.00000555');
    assert.equal(response.headers.get('x-tandem-prompt-tokens'), String(prompt));
    assert.equal(response.headers.get('x-tandem-completion-tokens'), String(completion));
    assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-zA-Z_-]+$/);
  });

  it('relays scripted content and finish_reason untouched', async () => {
    const messages = user('Tell me a story\n#mock content=Once upon a time there was a gateway,finish_reason=length');
    const { data, response } = await client.chat.completions
      .create({ model: DIRECT, messages, max_tokens: 8, temperature: 0.5 })
      .withResponse();
    assert.equal(data.choices[0].message.content, 'Once upon a time there was a gateway');
    assert.equal(data.choices[0].finish_reason, 'length');
    assert.equal(data.usage.completion_tokens, 8);
    assert.equal(data.usage.prompt_tokens, promptTokens(messages));
    assert.equal(
      picoUsd(response.headers.get('x-tandem-cost-usd')),
      expectedCostPico(promptTokens(messages), 8, PRICE_IN, PRICE_OUT),
    );
  });

  it('falls back to the next route when the first one is down', async () => {
    const messages = user('Hello through the fallback chain');
    const { data, response } = await client.chat.completions
      .create({ model: FALLBACK, messages })
      .withResponse();
    assert.equal(response.status, 200);
    assert.equal(data.choices[0].message.content, DEFAULT_REPLY);
    assert.equal(response.headers.get('x-tandem-route'), GOOD_ROUTE);
    const attempts = response.headers.get('x-tandem-attempts') ?? '';
    assert.match(attempts, /^bad:gpt-4o-mini=/, `x-tandem-attempts: ${attempts}`);
    assert.match(attempts, /good:mock-chat=ok$/, `x-tandem-attempts: ${attempts}`);
    const prompt = promptTokens(messages);
    assert.deepEqual(data.usage, { prompt_tokens: prompt, completion_tokens: 5, total_tokens: prompt + 5 });
    assert.equal(picoUsd(response.headers.get('x-tandem-cost-usd')), expectedCostPico(prompt, 5, PRICE_IN, PRICE_OUT));
  });

  it('answers a tool call', async () => {
    const messages = user('What is the weather in Paris?\n#mock tool_call=true');
    const { data, response } = await client.chat.completions
      .create({ model: DIRECT, messages, tools: [weatherTool], tool_choice: 'auto' })
      .withResponse();
    const choice = data.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls.length, 1);
    const call = choice.message.tool_calls[0];
    assert.equal(call.type, 'function');
    assert.equal(typeof call.id, 'string');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
    assert.equal(data.usage.completion_tokens, 7);
    assert.equal(data.usage.prompt_tokens, promptTokens(messages));
    assert.equal(response.headers.get('x-tandem-route'), GOOD_ROUTE);
  });

  it('accepts a conversation that answers a tool call', async () => {
    const messages = [
      { role: 'user', content: 'What is the weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 21 C' },
    ];
    const data = await client.chat.completions.create({ model: DIRECT, messages, tools: [weatherTool] });
    assert.equal(data.choices[0].message.content, DEFAULT_REPLY);
    assert.equal(data.usage.prompt_tokens, promptTokens(messages));
  });
});

// ---- streaming ---------------------------------------------------------------------------------

describe('streamed chat completions', () => {
  it('streams deltas that add up to the non-streamed content, without usage unless asked', async () => {
    const messages = user('Stream a greeting please');
    const plain = await client.chat.completions.create({ model: DIRECT, messages });

    const { data: stream, response } = await client.chat.completions
      .create({ model: DIRECT, messages, stream: true })
      .withResponse();
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(response.headers.get('x-tandem-route'), GOOD_ROUTE);

    const chunks = await collect(stream);
    assert.ok(chunks.length >= 3, `got ${chunks.length} chunks`);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.ok(!('usage' in c), `no usage member without include_usage: ${JSON.stringify(c)}`);
      assert.equal(c.choices.length, 1, 'every chunk has its choice (no usage-only chunk)');
    }
    assert.equal(streamedText(chunks), plain.choices[0].message.content);
    assert.equal(streamedText(chunks), DEFAULT_REPLY);
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  });

  it('ends with an exact usage chunk when stream_options.include_usage is set', async () => {
    const messages = user('Count these words for me\n#mock content=one two three four five six');
    const stream = await client.chat.completions.create({
      model: DIRECT,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);
    assert.equal(streamedText(chunks), 'one two three four five six');
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, [], 'the usage chunk has no choices');
    const prompt = promptTokens(messages);
    assert.deepEqual(last.usage, { prompt_tokens: prompt, completion_tokens: 6, total_tokens: prompt + 6 });
    for (const c of chunks.slice(0, -1)) {
      assert.ok(c.usage === null || c.usage === undefined, `only the last chunk carries usage: ${JSON.stringify(c)}`);
    }
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finish.length, 1);
    assert.equal(finish[0].choices[0].finish_reason, 'stop');
  });

  it('streams through the fallback chain', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: FALLBACK, messages: user('Stream through the fallback'), stream: true })
      .withResponse();
    assert.equal(response.headers.get('x-tandem-route'), GOOD_ROUTE);
    assert.match(response.headers.get('x-tandem-attempts') ?? '', /good:mock-chat=ok$/);
    assert.equal(streamedText(await collect(stream)), DEFAULT_REPLY);
  });

  it('streams a tool call', async () => {
    const stream = await client.chat.completions.create({
      model: DIRECT,
      messages: user('Weather in Paris, streamed\n#mock tool_call=true'),
      tools: [weatherTool],
      stream: true,
    });
    const calls = [];
    let finish = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      for (const d of choice.delta.tool_calls ?? []) {
        calls[d.index] ??= { id: '', name: '', arguments: '' };
        if (d.id) calls[d.index].id = d.id;
        if (d.function?.name) calls[d.index].name += d.function.name;
        if (d.function?.arguments) calls[d.index].arguments += d.function.arguments;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(calls.length, 1);
    assert.equal(calls[0].name, 'get_weather');
    assert.ok(calls[0].id.length > 0);
    assert.deepEqual(JSON.parse(calls[0].arguments), { city: 'Paris' });
    assert.equal(finish, 'tool_calls');
  });

  it('throws from the for-await loop when the upstream connection is cut midway', async () => {
    const stream = await client.chat.completions.create({
      model: DIRECT,
      messages: user('Tell me something long\n#mock content=one two three four five six,cut_after=2'),
      stream: true,
    });
    const received = [];
    let completed = false;
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) received.push(chunk);
        completed = true;
      })(),
      (err) => {
        assert.ok(err instanceof OpenAI.APIError, `an APIError from the error event, got ${err}`);
        assert.match(err.message, /interrupt|reset|closed|upstream/i);
        return true;
      },
    );
    assert.equal(completed, false, 'the stream must not complete silently');
    assert.equal(streamedText(received), 'one two', 'the chunks sent before the cut arrive');
    assert.ok(
      received.every((c) => !c.choices[0]?.finish_reason),
      'no finish_reason for a stream that did not finish',
    );
  });

  it('throws from the for-await loop when the upstream sends an error event midway', async () => {
    const stream = await client.chat.completions.create({
      model: DIRECT,
      messages: user('Fail while streaming\n#mock content=alpha beta gamma delta,error_after=3,error_message=overloaded upstream'),
      stream: true,
    });
    const received = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) received.push(chunk);
      })(),
      (err) => {
        assert.ok(err instanceof OpenAI.APIError, `an APIError, got ${err}`);
        assert.match(err.message, /overloaded upstream/);
        return true;
      },
    );
    assert.equal(streamedText(received), 'alpha beta gamma');
  });

  it('serves concurrent streamed and plain requests without mixing them up', async () => {
    const jobs = Array.from({ length: 16 }, async (_, i) => {
      const content = `reply number ${i} for you`;
      const messages = user(`Request ${i}\n#mock content=${content},token_delay_ms=5`);
      if (i % 2 === 0) {
        const data = await client.chat.completions.create({ model: DIRECT, messages });
        assert.equal(data.choices[0].message.content, content);
        assert.equal(data.usage.prompt_tokens, promptTokens(messages));
      } else {
        const chunks = await collect(
          await client.chat.completions.create({
            model: i % 4 === 1 ? FALLBACK : DIRECT,
            messages,
            stream: true,
            stream_options: { include_usage: true },
          }),
        );
        assert.equal(streamedText(chunks), content);
        assert.equal(chunks.at(-1).usage.completion_tokens, 5);
      }
    });
    await Promise.all(jobs);
  });

  it('ends the raw stream with the tandem comment and [DONE]', async () => {
    const messages = user('Raw stream please');
    const res = await fetch(`${TANDEM_URL}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TANDEM_KEY}` },
      body: JSON.stringify({ model: DIRECT, messages, stream: true }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    const prompt = promptTokens(messages);
    const cost = expectedCostPico(prompt, 5, PRICE_IN, PRICE_OUT);
    const m = /\n: tandem route=(\S+) cost_usd=(\S+)\n\ndata: \[DONE\]\n\n$/.exec(text);
    assert.ok(m, `stream tail: ${JSON.stringify(text.slice(-200))}`);
    assert.equal(m[1], GOOD_ROUTE);
    assert.equal(picoUsd(m[2]), cost);
  });
});

// ---- errors ------------------------------------------------------------------------------------

describe('errors in OpenAI shape', () => {
  it('rejects a wrong API key with AuthenticationError (401)', async () => {
    const wrong = new OpenAI({ baseURL: `${TANDEM_URL}/v1`, apiKey: 'sk-wrong-key-0123456789abcdef', maxRetries: 0 });
    await assert.rejects(wrong.chat.completions.create({ model: DIRECT, messages: user('hi') }), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 401);
      assert.equal(err.type, 'authentication_error');
      assert.match(err.message, /API key/i);
      return true;
    });
    await assert.rejects(wrong.models.list(), OpenAI.AuthenticationError);
  });

  it('rejects a request without any API key with 401', async () => {
    const res = await fetch(`${TANDEM_URL}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: DIRECT, messages: user('hi') }),
    });
    assert.equal(res.status, 401);
    const body = await res.json();
    assert.equal(body.error.type, 'authentication_error');
    assert.ok('param' in body.error && 'code' in body.error, JSON.stringify(body));
  });

  it('answers an unknown model with NotFoundError (404)', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model', messages: user('hi') }),
      (err) => {
        assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.status, 404);
        assert.equal(err.code, 'model_not_found');
        assert.match(err.message, /no-such-model/);
        return true;
      },
    );
  });

  it('answers an invalid role with BadRequestError (400) naming the field', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: DIRECT, messages: [{ role: 'robot', content: 'beep' }] }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.status, 400);
        assert.equal(err.type, 'invalid_request_error');
        assert.equal(err.param, 'messages[0].role');
        assert.match(err.message, /messages\[0\]\.role/);
        return true;
      },
    );
  });

  it('answers other invalid fields with BadRequestError naming them', async () => {
    const cases = [
      [{ model: DIRECT, messages: [] }, 'messages'],
      [{ model: DIRECT, messages: user('hi'), temperature: 7 }, 'temperature'],
      [{ model: DIRECT, messages: [{ role: 'user' }] }, 'messages[0].content'],
      [{ model: DIRECT, messages: user('hi'), stream_options: { include_usage: true } }, 'stream_options'],
    ];
    for (const [body, field] of cases) {
      await assert.rejects(client.chat.completions.create(body), (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `${field}: got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.param, field);
        assert.ok(err.message.includes(field), `${field}: ${err.message}`);
        return true;
      });
    }
  });

  it('answers a chat request for an embeddings model with 400', async () => {
    await assert.rejects(client.chat.completions.create({ model: EMBED, messages: user('hi') }), OpenAI.BadRequestError);
  });

  it('answers a model whose only route is rate limited with RateLimitError (429)', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: RATE_LIMITED, messages: user('hi') }),
      (err) => {
        assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.status, 429);
        assert.equal(err.type, 'rate_limit_error');
        assert.ok(err.headers.get('retry-after'), 'a 429 carries Retry-After');
        return true;
      },
    );
  });

  it('answers a rate-limited stream with RateLimitError before any chunk', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: RATE_LIMITED, messages: user('hi'), stream: true }),
      OpenAI.RateLimitError,
    );
  });

  it('answers 502 when every route fails', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: FALLBACK, messages: user('hi\n#mock status=500,error_message=boom') }),
      (err) => {
        assert.ok(err instanceof OpenAI.APIError, `got ${err}`);
        assert.equal(err.status, 502);
        assert.match(err.headers.get('x-tandem-attempts') ?? '', /good:mock-chat=/);
        return true;
      },
    );
  });
});

// ---- embeddings --------------------------------------------------------------------------------

describe('embeddings', () => {
  it('returns 8-dimensional vectors with usage and cost', async () => {
    const input = ['the quick brown fox', 'jumps'];
    const { data, response } = await client.embeddings
      .create({ model: EMBED, input, encoding_format: 'float' })
      .withResponse();
    assert.equal(data.object, 'list');
    assert.equal(data.data.length, 2);
    data.data.forEach((item, i) => {
      assert.equal(item.object, 'embedding');
      assert.equal(item.index, i);
      assert.equal(item.embedding.length, 8);
      item.embedding.forEach((x, d) => assert.ok(Math.abs(x - (i + 1) / (d + 1)) < 1e-9, `[${i}][${d}] = ${x}`));
    });
    assert.deepEqual(data.usage, { prompt_tokens: 5, total_tokens: 5 });
    assert.equal(response.headers.get('x-tandem-route'), 'good:mock-embed');
    assert.equal(picoUsd(response.headers.get('x-tandem-cost-usd')), expectedCostPico(5, 0, EMBED_PRICE_IN, '0'));
  });

  it('embeds a single string', async () => {
    const data = await client.embeddings.create({ model: EMBED, input: 'one two three', encoding_format: 'float' });
    assert.equal(data.data.length, 1);
    assert.equal(data.data[0].embedding.length, 8);
    assert.equal(data.usage.prompt_tokens, 3);
  });

  it('answers an embeddings request for a chat model with 400', async () => {
    await assert.rejects(
      client.embeddings.create({ model: DIRECT, input: 'x', encoding_format: 'float' }),
      OpenAI.BadRequestError,
    );
  });
});

// ---- models ------------------------------------------------------------------------------------

describe('models', () => {
  it('lists every configured model', async () => {
    const ids = [];
    for await (const model of client.models.list()) {
      assert.equal(model.object, 'model');
      ids.push(model.id);
    }
    assert.deepEqual(
      [...ids].sort(),
      [
        DIRECT, EMBED, FALLBACK, RATE_LIMITED,
        'e2e-local', 'e2e-local-embed', 'e2e-local-thinker',
        // The hybrid task's LLM and the replayed quizzes' three recorded models (tasks.test.mjs).
        'e2e-hybrid-llm', 'cheap', 'mid', 'dear',
      ].sort(),
    );
  });
});
