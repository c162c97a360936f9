// `uma serve` driven by the real client libraries: openai (OpenAI API) and ollama (Ollama API).
// Started by tests/server/test_server_npm.cpp with UMA_SERVER_URL, UMA_TEST_MODEL (a GGUF path)
// and UMA_TEST_TEMPLATE (a chat template with tool support, as text).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const baseURL = process.env.UMA_SERVER_URL;
const model = process.env.UMA_TEST_MODEL;
const toolTemplate = process.env.UMA_TEST_TEMPLATE;
assert.ok(baseURL && model && toolTemplate, 'UMA_SERVER_URL, UMA_TEST_MODEL and UMA_TEST_TEMPLATE are required');

const openai = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: 'unused', timeout: 60_000, maxRetries: 0 });
const ollama = new Ollama({ host: baseURL });

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 12 }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
    },
  },
};

test('openai: chat completion, streamed and not, give the same greedy text', async () => {
  const request = { model, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 12, temperature: 0 };
  const whole = await openai.chat.completions.create(request);
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage.completion_tokens, 12);
  let text = '';
  let usage;
  const stream = await openai.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(usage.completion_tokens, 12);
});

test('openai: completions and models', async () => {
  const completion = await openai.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
  assert.match(completion.choices[0].text, /^, there was a little/);
  const models = await openai.models.list();
  assert.ok(models.data.some((m) => m.id === model));
});

test('openai: prefix cache hit shows in usage', async () => {
  const messages = [{ role: 'user', content: 'Tell me about a cat who liked to sing songs' }];
  const first = await openai.chat.completions.create({ model, messages, max_tokens: 4, temperature: 0 });
  const second = await openai.chat.completions.create({
    model,
    messages: [...messages, first.choices[0].message, { role: 'user', content: 'More' }],
    max_tokens: 4,
    temperature: 0,
  });
  assert.ok(second.usage.prompt_tokens_details.cached_tokens >= first.usage.prompt_tokens - 1);
});

test('openai: JSON schema output validates', async () => {
  const schema = {
    type: 'object',
    properties: { name: { type: 'string', maxLength: 10 }, age: { type: 'integer', minimum: 0, maximum: 120 }, happy: { type: 'boolean' } },
    required: ['name', 'age', 'happy'],
  };
  const reply = await openai.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Describe Lily as JSON' }],
    response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
    max_tokens: 120,
    temperature: 0,
  });
  const value = JSON.parse(reply.choices[0].message.content);
  assert.deepEqual(Object.keys(value), ['name', 'age', 'happy']);
  assert.equal(typeof value.name, 'string');
  assert.ok(value.name.length <= 10);
  assert.ok(Number.isInteger(value.age) && value.age >= 0 && value.age <= 120);
  assert.equal(typeof value.happy, 'boolean');
});

test('openai: tool call round trip, streamed with indexes and not', async () => {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const request = { model, messages, tools: [weatherTool], tool_choice: 'required', template: toolTemplate, max_tokens: 200, temperature: 0 };
  const reply = await openai.chat.completions.create(request);
  const choice = reply.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  const args = JSON.parse(call.function.arguments);
  assert.equal(typeof args.city, 'string');
  assert.ok(['celsius', 'fahrenheit'].includes(args.unit));

  // Streamed: the same call arrives as deltas with index 0.
  const calls = [];
  let finish;
  for await (const chunk of await openai.chat.completions.create({ ...request, stream: true })) {
    const c = chunk.choices[0];
    if (!c) continue;
    for (const delta of c.delta.tool_calls ?? []) {
      calls[delta.index] ??= { name: '', arguments: '' };
      calls[delta.index].name += delta.function?.name ?? '';
      calls[delta.index].arguments += delta.function?.arguments ?? '';
    }
    finish = c.finish_reason ?? finish;
  }
  assert.equal(finish, 'tool_calls');
  assert.deepEqual(calls, [{ name: 'get_weather', arguments: call.function.arguments }]);

  // The round trip: the call and its result go back; the model answers in text.
  const answer = await openai.chat.completions.create({
    model,
    messages: [...messages, choice.message, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 21}' }],
    tools: [weatherTool],
    template: toolTemplate,
    max_tokens: 8,
    temperature: 0,
  });
  assert.ok(['stop', 'length', 'tool_calls'].includes(answer.choices[0].finish_reason));
});

test('ollama: generate and chat, streamed and not', async () => {
  const whole = await ollama.generate({ model, prompt: 'Once upon a time', stream: false, options: { temperature: 0, num_predict: 10 } });
  assert.match(whole.response, /^, there was a little/);
  assert.equal(whole.eval_count, 10);
  let text = '';
  for await (const part of await ollama.generate({ model, prompt: 'Once upon a time', stream: true, options: { temperature: 0, num_predict: 10 } }))
    text += part.response;
  assert.equal(text, whole.response);

  const chat = await ollama.chat({ model, messages: [{ role: 'user', content: 'Hello' }], options: { temperature: 0, num_predict: 6 } });
  assert.equal(chat.message.role, 'assistant');
  let streamed = '';
  for await (const part of await ollama.chat({ model, messages: [{ role: 'user', content: 'Hello' }], stream: true, options: { temperature: 0, num_predict: 6 } }))
    streamed += part.message.content;
  assert.equal(streamed, chat.message.content);
});

test('ollama: format json, list, ps, show, version', async () => {
  const reply = await ollama.generate({ model, prompt: 'A story as JSON:', format: 'json', stream: false, options: { temperature: 0, num_predict: 60 } });
  if (reply.done_reason === 'stop') JSON.parse(reply.response);
  const ps = await ollama.ps();
  assert.ok(ps.models.some((m) => m.name === model));
  const list = await ollama.list();
  assert.ok(Array.isArray(list.models));
  const show = await ollama.show({ model });
  assert.equal(show.details.family, 'llama');
  const version = await fetch(`${baseURL}/api/version`).then((r) => r.json());
  assert.equal(typeof version.version, 'string');
});

test('ollama: unknown model is an error that names it', async () => {
  await assert.rejects(ollama.generate({ model: 'no-such-model', prompt: 'x', stream: false }), /no-such-model/);
});
