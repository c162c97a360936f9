// Load test for `uma serve`: requests/s and time to first token (TTFT) at several numbers of
// concurrent streaming clients. Plain Node (>= 18, global fetch), no packages.
//
//   build/uma serve --port 18090 --parallel 16 &
//   node bench/load_test.mjs --url http://127.0.0.1:18090 --model ../shared/models/stories260K.gguf \
//        --clients 1,4,16,64 --requests 64 --max-tokens 32
//
// Each client sends streaming /v1/chat/completions requests back to back (distinct prompts,
// greedy) until the level's request count is done. TTFT is the time to the first content delta.
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const url = args.url ?? 'http://127.0.0.1:11434';
const model = args.model;
const levels = (args.clients ?? '1,4,16,64').split(',').map(Number);
const requestsPerLevel = Number(args.requests ?? 64);
const maxTokens = Number(args['max-tokens'] ?? 32);
if (!model) {
  console.error('usage: node bench/load_test.mjs --model MODEL [--url URL] [--clients 1,4,16,64] [--requests N] [--max-tokens N]');
  process.exit(2);
}

async function oneRequest(id) {
  const start = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      model,
      messages: [{ role: 'user', content: `Story number ${id}: once upon a time` }],
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
    }),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let ttft = null;
  let tokens = 0;
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const bytes of res.body) {
    buffered += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const content = JSON.parse(event.slice(6)).choices[0]?.delta?.content;
      if (content) {
        tokens += 1;
        ttft ??= performance.now() - start;
      }
    }
  }
  return { ttft: ttft ?? performance.now() - start, total: performance.now() - start, tokens };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

await oneRequest(-1); // load the model before timing
console.log('clients  requests  req/s   tokens/s  TTFT p50 ms  TTFT p95 ms  latency p50 ms  errors');
for (const clients of levels) {
  let next = 0;
  let errors = 0;
  const results = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < Math.max(requestsPerLevel, clients)) {
        const id = next++;
        try {
          results.push(await oneRequest(id));
        } catch (e) {
          errors += 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const tokens = results.reduce((sum, r) => sum + r.tokens, 0);
  console.log(
    [
      String(clients).padEnd(8),
      String(results.length).padEnd(9),
      (results.length / seconds).toFixed(1).padEnd(7),
      (tokens / seconds).toFixed(0).padEnd(9),
      percentile(results.map((r) => r.ttft), 50).toFixed(1).padEnd(12),
      percentile(results.map((r) => r.ttft), 95).toFixed(1).padEnd(12),
      percentile(results.map((r) => r.total), 50).toFixed(1).padEnd(15),
      errors,
    ].join(' '),
  );
}
