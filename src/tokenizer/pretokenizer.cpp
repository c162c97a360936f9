#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "tokenizer/unicode.h"
#include "uma/core/error.h"

namespace uma::tok {

namespace {

// The regexes, as the models' tokenizer.json files state them (PCRE2 runs them as written).

// GPT-2 (tiktoken r50k). llama.cpp drops the final \s+; with gaps kept as pieces it is the same.
constexpr const char* kGpt2 =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)re";

// Llama 3 (tiktoken cl100k): case-insensitive contractions, numbers in groups of three.
constexpr const char* kLlama3 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// Qwen2: as Llama 3 but single digits.
constexpr const char* kQwen2 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// GPT-4o (o200k): case-aware words.
constexpr const char* kGpt4o =
    R"re([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// Mistral Tekken.
constexpr const char* kTekken =
    R"re([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// DeepSeek LLM: cased letters (the explicit class of its tokenizer.json), ASCII and CJK
// punctuation, trailing whitespace, CJK / Hangul runs, numbers.
constexpr const char* kDeepseekLetters =
    R"re(\s?[\x{41}-\x{5A}\x{61}-\x{7A}\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)re";
constexpr const char* kDeepseekPunct =
    R"re(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)re";
constexpr const char* kCjk = R"re([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)re";

// DeepSeek V3.
constexpr const char* kDeepseekV3Main =
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// BLOOM / Poro / Viking: words up to whitespace and a few punctuation marks.
constexpr const char* kBloom =
    R"re( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{0964}\x{06D4}\x{060C})]+)re";

struct PreTokenizerSpec {
    std::vector<std::string_view> names;
    std::vector<const char*> regexes;
    PreTokenizerTraits traits;
};

const std::vector<PreTokenizerSpec>& specs() {
    static const std::vector<PreTokenizerSpec> kSpecs = {
        {{"default"},
         {R"re([\p{P}\$\+<=>\^~\|]+)re", kGpt2, R"re(\p{N}+)re", R"re([0-9][0-9][0-9])re"},
         {}},
        {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
         {kLlama3},
         {.ignore_merges = true, .add_bos = true}},
        {{"dbrx", "smaug-bpe", "chatglm-bpe", "glm4"}, {kLlama3}, {}},
        {{"qwen2", "deepseek-r1-qwen", "stablelm", "stablelm2", "megrez", "hunyuan", "kormo"},
         {kQwen2},
         {}},
        {{"deepseek-llm"},
         {R"re([\r\n])re", kDeepseekLetters, kDeepseekPunct, R"re(\s+$)re", kCjk, R"re(\p{N}+)re"},
         {}},
        {{"deepseek-coder"},
         {R"re([\r\n])re", R"re(\s?\p{L}+)re", R"re(\s?\p{P}+)re", kCjk, R"re(\p{N})re"},
         {}},
        {{"deepseek-v3"},
         {R"re(\p{N}{1,3})re", R"re([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)re",
          kDeepseekV3Main},
         {}},
        {{"falcon"}, {R"re([\p{P}\$\+<=>\^~\|`]+)re", kGpt2, R"re([0-9][0-9][0-9])re"}, {}},
        {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"},
         {R"re(\p{N})re", kGpt2},
         {}},
        {{"gpt-2",   "gpt2",        "mpt",        "olmo",         "jais",
          "phi-2",   "roberta-bpe", "jina-v1-en", "jina-v2-code", "jina-es",
          "jina-de", "jina-v2-es",  "jina-v2-de", "gigachat",     "a.x-4.0",
          "mellum",  "trillion",    "exaone4",    "modern-bert",  "granite-docling"},
         {kGpt2},
         {}},
        {{"chameleon"},
         {R"re(<sentinel:[0-9]+>)re", R"re((IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z)re",
          R"re(([\t\n]|    |  ))re", R"re(\p{N})re", R"re([\p{P}!-/:-@\[-`{-~])re", kGpt2},
         {.ignore_merges = false, .add_bos = true}},
        {{"gpt-4o", "llama4"}, {kGpt4o}, {}},
        {{"tekken"}, {kTekken}, {.ignore_merges = true, .add_bos = true}},
        {{"poro-chat", "bloom", "gpt3-finnish"}, {kBloom}, {}},
        {{"viking"}, {kBloom, R"re(\p{N})re"}, {}},
    };
    return kSpecs;
}

}  // namespace

class Regex {
  public:
    explicit Regex(const char* pattern) {
        int error = 0;
        PCRE2_SIZE offset = 0;
        const uint32_t options =
            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY;
        code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED, options,
                              &error, &offset, nullptr);
        if (code_ == nullptr) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(error, message, sizeof(message));
            throw Error("tokenizer: cannot compile pre-tokenizer regex at offset " +
                        std::to_string(offset) + ": " + reinterpret_cast<const char*>(message));
        }
        pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // falls back to the interpreter
    }
    ~Regex() { pcre2_code_free(code_); }
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Appends the matches of this regex in `piece` and the text between them to `out`.
    void split(std::string_view piece, pcre2_match_data* md,
               std::vector<std::string_view>& out) const {
        const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
        const size_t n = piece.size();
        size_t pos = 0;
        size_t last = 0;
        while (pos < n) {
            int rc = pcre2_match(code_, subject, n, pos, 0, md, nullptr);
            if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
                rc = pcre2_match(code_, subject, n, pos, PCRE2_NO_JIT, md, nullptr);
            }
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) {
                PCRE2_UCHAR message[256];
                pcre2_get_error_message(rc, message, sizeof(message));
                throw Error(std::string("tokenizer: pre-tokenizer regex failed: ") +
                            reinterpret_cast<const char*>(message));
            }
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
            const size_t begin = ov[0];
            const size_t end = ov[1];
            if (end <= begin) {  // empty match: try again one character further on
                pos = std::min(n, begin + utf8_sequence_length(static_cast<uint8_t>(piece[begin])));
                continue;
            }
            if (begin > last) out.push_back(piece.substr(last, begin - last));
            out.push_back(piece.substr(begin, end - begin));
            last = pos = end;
        }
        if (last < n) out.push_back(piece.substr(last));
    }

  private:
    pcre2_code* code_ = nullptr;
};

PreTokenizer::PreTokenizer(const std::string& name) : name_(name.empty() ? "default" : name) {
    for (const auto& spec : specs()) {
        if (std::find(spec.names.begin(), spec.names.end(), name_) == spec.names.end()) continue;
        traits_ = spec.traits;
        for (const char* pattern : spec.regexes)
            regexes_.push_back(std::make_unique<Regex>(pattern));
        return;
    }
    std::string known;
    for (const auto& n : known_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("tokenizer: unknown pre-tokenizer '" + name_ + "' (known: " + known + ")");
}

PreTokenizer::~PreTokenizer() = default;

std::vector<std::string> PreTokenizer::known_names() {
    std::vector<std::string> names;
    for (const auto& spec : specs()) {
        for (auto n : spec.names) names.emplace_back(n);
    }
    return names;
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces) const {
    pieces.clear();
    if (text.empty()) return;
    pieces.push_back(text);
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    if (md == nullptr) throw Error("tokenizer: out of memory for regex match data");
    std::vector<std::string_view> next;
    try {
        for (const auto& regex : regexes_) {
            next.clear();
            for (std::string_view piece : pieces) regex->split(piece, md, next);
            pieces.swap(next);
        }
    } catch (...) {
        pcre2_match_data_free(md);
        throw;
    }
    pcre2_match_data_free(md);
}

}  // namespace uma::tok
