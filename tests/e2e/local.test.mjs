// The local provider (llama.cpp in process, a random-weight model) through the official openai
// client: the same API as any remote model. Started by tests/e2e/run.sh (models e2e-local,
// e2e-local-thinker and e2e-local-embed of its generated config).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: `${process.env.TANDEM_URL}/v1`,
  apiKey: process.env.TANDEM_KEY,
  maxRetries: 0,
  timeout: 60_000,
});
const LOCAL = 'e2e-local';

describe('local model through the openai client', () => {
  it('answers a chat completion with exact usage and a deterministic seed', async () => {
    const ask = () =>
      client.chat.completions.create({
        model: LOCAL,
        messages: [{ role: 'user', content: 'Say something' }],
        max_tokens: 10,
        seed: 5,
      });
    const a = await ask();
    const b = await ask();
    assert.equal(a.object, 'chat.completion');
    assert.equal(a.choices[0].finish_reason, 'length');
    assert.equal(a.usage.completion_tokens, 10);
    assert.equal(a.usage.total_tokens, a.usage.prompt_tokens + 10);
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  });

  it('streams the same text as the plain answer', async () => {
    const request = {
      model: LOCAL,
      messages: [{ role: 'user', content: 'Stream please' }],
      max_tokens: 12,
      seed: 9,
    };
    const plain = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    assert.equal(text, plain.choices[0].message.content);
    assert.equal(usage.completion_tokens, 12);
  });

  it('returns JSON that matches the requested schema', async () => {
    const schema = {
      type: 'object',
      properties: { ok: { type: 'boolean' }, level: { enum: ['low', 'high'] } },
      required: ['ok', 'level'],
      additionalProperties: false,
    };
    const r = await client.chat.completions.create({
      model: LOCAL,
      messages: [{ role: 'user', content: 'Status?' }],
      max_tokens: 60,
      seed: 2,
      response_format: { type: 'json_schema', json_schema: { name: 'status', schema } },
    });
    const value = JSON.parse(r.choices[0].message.content);
    assert.equal(typeof value.ok, 'boolean');
    assert.ok(['low', 'high'].includes(value.level));
    assert.deepEqual(Object.keys(value).sort(), ['level', 'ok']);
  });

  it('rejects a prompt longer than the context with context_length_exceeded', async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: LOCAL,
        messages: [{ role: 'user', content: 'word '.repeat(400) }],
        max_tokens: 5,
      }),
      (err) => err instanceof OpenAI.BadRequestError && err.code === 'context_length_exceeded',
    );
  });

  it('embeds with the client default (base64) and as floats, identically', async () => {
    const b64 = await client.embeddings.create({ model: 'e2e-local-embed', input: ['alpha', 'beta'] });
    const floats = await client.embeddings.create({
      model: 'e2e-local-embed',
      input: ['alpha', 'beta'],
      encoding_format: 'float',
    });
    assert.equal(b64.data.length, 2);
    assert.equal(b64.data[0].embedding.length, 64);
    for (let i = 0; i < 64; i++) {
      assert.ok(Math.abs(b64.data[0].embedding[i] - floats.data[0].embedding[i]) < 1e-6);
    }
    assert.ok(b64.usage.prompt_tokens > 0);
  });

  it("returns a reasoning model's thought as reasoning_content, streamed or not", async () => {
    const request = {
      model: 'e2e-local-thinker',
      messages: [{ role: 'user', content: 'Think first' }],
      max_tokens: 12,
      seed: 3,
    };
    const plain = await client.chat.completions.create(request);
    const thought = plain.choices[0].message.reasoning_content;
    assert.ok(thought.length > 0);
    assert.equal(plain.choices[0].message.content, '');
    // Usage counts the thought as OpenAI does: here every generated token is thought, but an
    // end-of-generation token that stopped it.
    const eog = plain.choices[0].finish_reason === 'stop' ? 1 : 0;
    assert.equal(
      plain.usage.completion_tokens_details.reasoning_tokens,
      plain.usage.completion_tokens - eog,
    );
    const stream = await client.chat.completions.create({ ...request, stream: true });
    let streamed = '';
    let content = '';
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.reasoning_content ?? '';
      content += chunk.choices[0]?.delta?.content ?? '';
    }
    assert.equal(streamed, thought);
    assert.equal(content, '');
    // With thinking off the same model answers in the content.
    const off = await client.chat.completions.create({ ...request, reasoning_effort: 'none' });
    assert.equal(off.choices[0].message.reasoning_content, undefined);
    assert.ok(off.choices[0].message.content.length > 0);
    assert.equal(off.usage.completion_tokens_details.reasoning_tokens, 0);
  });
});
