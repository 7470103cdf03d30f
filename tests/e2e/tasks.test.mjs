// Tailored models trained by the real `tandem train` CLI (tests/e2e/run.sh) and served on
// /v1/tasks/<name>: plain fetch, as any HTTP client would call them (the openai client has no
// such endpoint).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { png, random, shape } from './task_data.mjs';

const URL = process.env.TANDEM_URL;
const auth = { Authorization: `Bearer ${process.env.TANDEM_KEY}` };

async function post(task, body, headers = { 'Content-Type': 'application/json' }) {
  const res = await fetch(`${URL}/v1/tasks/${task}`, {
    method: 'POST',
    headers: { ...auth, ...headers },
    body: typeof body === 'string' || body instanceof FormData ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('tailored tasks over HTTP', () => {
  it('lists the tasks with their models', async () => {
    const res = await fetch(`${URL}/v1/tasks`, { headers: auth });
    assert.equal(res.status, 200);
    const list = await res.json();
    const ids = list.data.map((t) => t.id).sort();
    assert.deepEqual(ids, ['e2e-hybrid', 'e2e-movies', 'e2e-reviews', 'e2e-shapes', 'quiz', 'trio']);
    const shapes = list.data.find((t) => t.id === 'e2e-shapes');
    assert.deepEqual(shapes.details.labels, ['horizontal', 'vertical', 'bars']);
    assert.match(shapes.model.data_sha256, /^[0-9a-f]{64}$/);
  });

  it('needs the API key', async () => {
    const res = await fetch(`${URL}/v1/tasks/e2e-reviews`, {
      method: 'POST',
      body: JSON.stringify({ input: 'tasty' }),
    });
    assert.equal(res.status, 401);
  });

  it('classifies text with a calibrated confidence and the tokens that decided', async () => {
    const { status, body } = await post('e2e-reviews', {
      input: 'the box arrived and the coffee was wonderful',
      explain: 2,
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.output.label, 'great');
    assert.ok(body.confidence > 0.5 && body.confidence <= 1);
    const total = Object.values(body.output.probabilities).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-5);
    assert.ok(body.output.explanation.length <= 2);
    assert.equal(body.output.explanation[0].token, 'wonderful');
    assert.ok(body.output.explanation[0].weight > 0);
  });

  it('recommends items of the user\'s taste, with reasons', async () => {
    const { status, body } = await post('e2e-movies', { input: { user: 5 }, n: 5 });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.output.items.length, 5);
    for (const item of body.output.items) {
      assert.ok(item.item <= 30, `user 5 likes items 1..30, got ${item.item}`);
      assert.ok(Array.isArray(item.because));
    }
    const unknown = await post('e2e-movies', { input: { user: 100000 } });
    assert.equal(unknown.body.output.popularity_fallback, true);
  });

  it('labels an uploaded PNG (multipart) and the same pixels sent as JSON alike', async () => {
    const pixels = shape(2, random(99));
    const form = new FormData();
    form.append('image', new Blob([png(pixels, 28, 28)], { type: 'image/png' }), 'bars.png');
    form.append('top_k', '2');
    const upload = await post('e2e-shapes', form, {});
    assert.equal(upload.status, 200, JSON.stringify(upload.body));
    assert.equal(upload.body.output.label, 'bars');
    assert.equal(upload.body.output.labels.length, 2);
    const json = await post('e2e-shapes', { input: { pixels: Array.from(pixels) } });
    assert.equal(json.body.output.label, 'bars');
    assert.ok(Math.abs(json.body.confidence - upload.body.confidence) < 1e-6);
  });

  it('says what is wrong with bad input', async () => {
    let r = await post('e2e-shapes', { input: { image: Buffer.from('GIF89a...').toString('base64') } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.message, 'input.image: not a PNG or JPEG image');
    r = await post('e2e-reviews', { input: '' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'input');
    r = await post('e2e-movies', { input: { user: 'five' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.message, 'input.user: expected an integer id, got string');
    r = await post('e2e-reviews', '{"input": ');
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_json');
  });

  it('reloads a model without a restart', async () => {
    const res = await fetch(`${URL}/v1/tasks/e2e-movies/reload`, { method: 'POST', headers: auth });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.reloads, 1);
    const { status } = await post('e2e-movies', { input: { user: 5 } });
    assert.equal(status, 200);
  });
});

describe('hybrid tasks over HTTP', () => {
  it('answers from the tailored model when it is sure enough, else from the LLM', async () => {
    // Sure: the tailored model alone, no tokens spent.
    let res = await fetch(`${URL}/v1/tasks/e2e-hybrid`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ input: 'wonderful wonderful wonderful', context: { explain: true } }),
    });
    let body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.variant, 'fast');
    assert.equal(body.route.policy, 'rule');
    assert.equal(body.usage.total_tokens, 0);
    // Unsure (a threshold of 0.99): the mock LLM answers, scripted through the input text.
    res = await fetch(`${URL}/v1/tasks/e2e-hybrid`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ input: 'the box arrived\n#mock content={"label": "other"}' }),
    });
    body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.variant, 'llm');
    assert.equal(body.output.label, 'other');
    assert.ok(body.confidence > 0 && body.confidence <= 1);
    assert.equal(body.route.steps.length, 2);
    assert.equal(body.route.steps[0].accepted, false);
    assert.ok(body.usage.total_tokens > 0);
    assert.match(res.headers.get('x-tandem-route'), /^cascade: fast [0-9.]+<0\.99 escalated > llm /);
    assert.equal(res.headers.get('x-tandem-variant'), 'llm');
  });

  it('replays recorded answers through the fitted cascade', async () => {
    const list = await (await fetch(`${URL}/v1/tasks`, { headers: auth })).json();
    const quiz = list.data.find((t) => t.id === 'quiz');
    assert.equal(quiz.policy.kind, 'cascade');
    assert.equal(quiz.policy.thresholds.length, 1);  // from the thresholds file
    // "hard" questions are where the cheap model is wrong: the router's P(correct) sends them on.
    const hard = await post('quiz', { input: 'question 3 about topic3 and more words hard' });
    assert.equal(hard.status, 200, JSON.stringify(hard.body));
    assert.equal(hard.body.variant, 'dear');
    assert.equal(hard.body.output.label, 'B');
    const easy = await post('quiz', { input: 'question 1 about topic1 and more words easy' });
    assert.equal(easy.status, 200, JSON.stringify(easy.body));
    assert.equal(easy.body.variant, 'cheap');
    assert.equal(easy.body.cost_usd, '0.00001');
  });

  it('trusts a later stage when it contradicts an earlier one the router doubts', async () => {
    // q.6: cheap says A (wrong), mid says B (right); q.9: mid repeats cheap's wrong A. The router
    // cannot tell the two apart from the text; agreement with cheap's answer can.
    const right = await post('trio', { input: 'question 6 about topic2 and more words hard' });
    assert.equal(right.status, 200, JSON.stringify(right.body));
    assert.deepEqual(right.body.route.steps.map((s) => [s.variant, s.accepted]),
                     [['cheap', false], ['mid', true]]);
    assert.equal(right.body.output.label, 'B');
    assert.equal(right.body.cost_usd, '0.00011');
    const wrong = await post('trio', { input: 'question 9 about topic1 and more words hard' });
    assert.equal(wrong.status, 200, JSON.stringify(wrong.body));
    assert.deepEqual(wrong.body.route.steps.map((s) => [s.variant, s.accepted]),
                     [['cheap', false], ['mid', false], ['dear', true]]);
    assert.equal(wrong.body.output.label, 'B');
    assert.ok(wrong.body.route.steps[1].confidence < right.body.route.steps[1].confidence);
    const easy = await post('trio', { input: 'question 1 about topic1 and more words easy' });
    assert.equal(easy.body.variant, 'cheap');
  });
});
