// Runs `uma bench` and llama.cpp on the same GGUF files and prints tokens/s side by side with
// their ratio, plus uma's share of the machine's measured read bandwidth.
//
// usage: node compare.mjs [--uma PATH] [--llama-bench PATH] [-p 512] [-n 128] [-t 2] [-r 3]
//                         [-d 0] [--remeasure-bandwidth] MODEL.gguf...
//   -d N: the tests at depth N (after N tokens of context), as uma bench -d.
//   --remeasure-bandwidth: measure the machine's read bandwidth again before each model (uma keeps
//   the best value it has ever seen: the share is against the machine at its fastest).
//   llama.cpp is node-llama-cpp's prebuilt CPU build (npm install here first, with
//   NODE_LLAMA_CPP_SKIP_DOWNLOAD=true), or a llama-bench binary given with --llama-bench.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const options = { uma: null, llamaBench: null, prompt: 512, gen: 128, threads: 2, reps: 3, depth: 0, remeasure: false, models: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    if (arg === "--uma") options.uma = argv[++i];
    else if (arg === "--llama-bench") options.llamaBench = argv[++i];
    else if (arg === "-p") options.prompt = Number(argv[++i]);
    else if (arg === "-n") options.gen = Number(argv[++i]);
    else if (arg === "-t") options.threads = Number(argv[++i]);
    else if (arg === "-r") options.reps = Number(argv[++i]);
    else if (arg === "-d") options.depth = Number(argv[++i]);
    else if (arg === "--remeasure-bandwidth") options.remeasure = true;
    else if (arg.startsWith("-")) throw new Error(`unknown option ${arg}`);
    else options.models.push(arg);
}
if (options.models.length === 0) {
    console.error("usage: node compare.mjs [--uma PATH] [--llama-bench PATH] [-p 512] [-n 128] [-t 2] [-r 3] [-d 0] [--remeasure-bandwidth] MODEL.gguf...");
    process.exit(2);
}
options.uma ??= [join(here, "..", "build", "uma")].find(existsSync);
if (!options.uma) throw new Error("no uma binary found: build it or pass --uma PATH");

const jsonLines = (text) => text.split("\n").filter((l) => l.trim().startsWith("{")).map((l) => JSON.parse(l));
const common = ["-p", String(options.prompt), "-n", String(options.gen), "-t", String(options.threads),
                "-r", String(options.reps), ...(options.depth > 0 ? ["-d", String(options.depth)] : [])];
const run = (command, args) => execFileSync(command, args, { encoding: "utf8", maxBuffer: 1 << 26,
                                                             stdio: ["ignore", "pipe", "inherit"] });

function umaBench(model) {
    const extra = options.remeasure ? ["--remeasure-bandwidth"] : [];
    return jsonLines(run(options.uma, ["bench", model, ...common, "--json", "--bandwidth-alongside", ...extra]));
}

function llamaBench(model) {
    if (options.llamaBench) {
        // llama-bench's own JSON lines: avg_ts / stddev_ts, n_prompt / n_gen, n_depth.
        return jsonLines(run(options.llamaBench, ["-m", model, ...common, "-o", "jsonl"])).map((r) => ({
            test: (r.n_prompt > 0 ? `pp${r.n_prompt}` : `tg${r.n_gen}`) + (r.n_depth > 0 ? `@d${r.n_depth}` : ""),
            tokens_per_second: r.avg_ts, stddev: r.stddev_ts,
        }));
    }
    return jsonLines(run(process.execPath, [join(here, "llama_cpp_bench.mjs"), model, ...common]));
}

const rows = [];
for (const model of options.models) {
    const uma = umaBench(model);
    const llama = llamaBench(model);
    for (const u of uma) {
        const l = llama.find((r) => r.test === u.test);
        rows.push({
            model: model.split("/").pop(), test: u.test,
            uma: u.tokens_per_second, uma_sd: u.stddev,
            llama: l?.tokens_per_second, llama_sd: l?.stddev,
            ratio: l ? u.tokens_per_second / l.tokens_per_second : undefined,
            bw: u.bandwidth_gbs, bw_pct: 100 * u.bandwidth_fraction, machine: u.machine_bandwidth_gbs,
            now: u.alongside_bandwidth_gbs, now_pct: 100 * u.alongside_bandwidth_fraction,
            huge: u.huge_page_fraction, small_pages: u.mostly_small_pages,
        });
    }
}
const fmt = (x, d = 2) => (x === undefined ? "-" : x.toFixed(d));
console.log(`threads ${options.threads}, ${options.reps} repetitions; uma: ${options.uma}; llama.cpp: ` +
            (options.llamaBench ?? "node-llama-cpp prebuilt CPU binaries"));
// "now": the read bandwidth uma measured around each repetition (the better of just before and just
// after; mean), and uma's GB/s as a share of it, repetition by repetition: on a shared machine the
// best bandwidth ever measured can be far from what the machine gives at the moment.
console.log("| model | test | uma t/s | llama.cpp t/s | uma / llama.cpp | uma GB/s | machine read GB/s | uma % of read BW | read GB/s now | uma % of read BW now |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows.filter((r) => r.small_pages))
    console.error(`note: ${r.model} ${r.test}: only ${(100 * r.huge).toFixed(0)}% of uma's memory was in huge ` +
                  "pages (memory short or fragmented); its decoding is slower for it");
for (const r of rows)
    console.log(`| ${r.model} | ${r.test} | ${fmt(r.uma)} ± ${fmt(r.uma_sd)} | ${fmt(r.llama)} ± ${fmt(r.llama_sd)} | ` +
                `${fmt(r.ratio)}x | ${fmt(r.bw, 1)} | ${fmt(r.machine, 1)} | ${fmt(r.bw_pct, 1)}% | ` +
                `${fmt(r.now, 1)} | ${fmt(r.now_pct, 1)}% |`);
