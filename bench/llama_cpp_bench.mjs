// Measures llama.cpp (through node-llama-cpp's prebuilt CPU binaries) the way `uma bench` measures
// uma: prompt processing of random tokens in batches of 512, then greedy generation one token at a
// time, each repeated; prints one JSON object per line and test with uma bench's keys. With -d, each
// repetition first fills the context with that many tokens (untimed), as uma bench -d does.
//
// usage: node llama_cpp_bench.mjs MODEL.gguf [-p 512] [-n 128] [-t 2] [-r 3] [-d 0]
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

function parseArgs(argv) {
    const options = { model: null, prompt: 512, gen: 128, threads: 2, reps: 3, depth: 0 };
    const names = { "-p": "prompt", "-n": "gen", "-t": "threads", "-r": "reps", "-d": "depth" };
    for (let i = 0; i < argv.length; ++i) {
        if (names[argv[i]]) options[names[argv[i]]] = Number(argv[++i]);
        else if (!options.model) options.model = argv[i];
        else throw new Error(`unexpected argument '${argv[i]}'`);
    }
    if (!options.model) throw new Error("usage: node llama_cpp_bench.mjs MODEL.gguf [-p 512] [-n 128] [-t 2] [-r 3] [-d 0]");
    return options;
}

function stats(samples) {
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const variance = samples.length > 1
        ? samples.reduce((a, s) => a + (s - mean) ** 2, 0) / (samples.length - 1) : 0;
    return { mean, stddev: Math.sqrt(variance) };
}

// A fixed pseudo-random pick of ordinary tokens: ids of the model's own tokenization of plain
// text, so that no special or unused id is fed (uma bench picks from the whole vocabulary; the
// speed does not depend on which ids are fed).
let textTokens = null;
function randomTokens(count, seed) {
    let state = seed >>> 0;
    const tokens = [];
    for (let i = 0; i < count; ++i) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        tokens.push(textTokens[state % textTokens.length]);
    }
    return tokens;
}

const options = parseArgs(process.argv.slice(2));
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error,
                               maxThreads: options.threads });
const model = await llama.loadModel({ modelPath: options.model, gpuLayers: 0, useMmap: true });
const context = await model.createContext({
    contextSize: options.depth + options.prompt + options.gen + 16,
    batchSize: 512,
    threads: { ideal: options.threads, min: options.threads },
});
const sequence = context.getSequence();
textTokens = model.tokenize(
    "Once upon a time, in a quiet village between the mountains and the sea, there lived a " +
    "clockmaker who repaired every clock in town except his own, which always ran five minutes " +
    "late because he liked having a little more time than everyone else.");

// The context before each timed part: cleared, then `depth` tokens evaluated (untimed).
async function startAtDepth(seed) {
    await sequence.clearHistory();
    if (options.depth > 0)
        await sequence.evaluateWithoutGeneratingNewTokens(randomTokens(options.depth, seed));
}
const suffix = options.depth > 0 ? `@d${options.depth}` : "";

const results = [];
const report = (test, nPrompt, nGen, samples) => {
    const { mean, stddev } = stats(samples);
    const line = { test, engine: "llama.cpp (node-llama-cpp)", model: options.model,
                   threads: options.threads, n_prompt: nPrompt, n_gen: nGen,
                   tokens_per_second: mean, stddev, samples };
    results.push(line);
    console.log(JSON.stringify(line));
};

// Warm-up: faults the mapping in, as uma bench does.
await sequence.evaluateWithoutGeneratingNewTokens(randomTokens(32, 7));
await sequence.clearHistory();

if (options.prompt > 0) {
    const samples = [];
    for (let rep = 0; rep < options.reps; ++rep) {
        await startAtDepth(300 + rep);
        const tokens = randomTokens(options.prompt, 100 + rep);
        const start = process.hrtime.bigint();
        await sequence.evaluateWithoutGeneratingNewTokens(tokens);
        samples.push(options.prompt / (Number(process.hrtime.bigint() - start) / 1e9));
    }
    report(`pp${options.prompt}${suffix}`, options.prompt, 0, samples);
}
if (options.gen > 0) {
    const samples = [];
    for (let rep = 0; rep < options.reps; ++rep) {
        await startAtDepth(400 + rep);
        let generated = 0;
        const start = process.hrtime.bigint();
        // Greedy: every generated token is fed back, one evaluation per token.
        for await (const token of sequence.evaluate(randomTokens(1, 200 + rep),
                                                    { temperature: 0 })) {
            void token;
            if (++generated >= options.gen) break;
        }
        samples.push(generated / (Number(process.hrtime.bigint() - start) / 1e9));
    }
    report(`tg${options.gen}${suffix}`, 0, options.gen, samples);
}
await context.dispose();
await model.dispose();
await llama.dispose();
