// GBNF parsing (and its error messages) and the byte-level matcher.
#include <gtest/gtest.h>

#include <string>

#include "uma/core/error.h"
#include "uma/sampling/grammar.h"

namespace uma {
namespace {

std::string parse_error(std::string_view gbnf, const GrammarLimits& limits = {}) {
    try {
        Grammar::parse(gbnf, "root", limits);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

bool matches(std::string_view gbnf, std::string_view text) {
    GrammarMatcher m(Grammar::parse(gbnf));
    if (!m.accepts(text)) return false;
    m.accept(text);
    return m.is_complete();
}

TEST(GrammarParse, AcceptsTheFullSyntax) {
    const char* gbnf = R"(
# a comment line
root  ::= greeting ws name ("!" | "?")+ tail  # trailing comment
greeting ::= "hello" | "hi" | "\x48\u0065y"
name  ::= [A-Z] [a-z]{1,8}
ws    ::= [ \t]*
tail  ::= (
    "." |
    [^a-z\n]? digit{2}
  )?
digit ::= [0-9]
)";
    auto g = Grammar::parse(gbnf);
    EXPECT_GT(g->rule_count(), 5u);
    EXPECT_TRUE(matches(gbnf, "hello Bob!"));
    EXPECT_TRUE(matches(gbnf, "hiAlice??."));
    EXPECT_TRUE(matches(gbnf, "Hey Zed!#42"));
    EXPECT_TRUE(matches(gbnf, "Hey Zed!42"));
    EXPECT_FALSE(matches(gbnf, "hello bob!"));
    EXPECT_FALSE(matches(gbnf, "hello Bobbbbbbbbbbbbb!"));
    EXPECT_FALSE(matches(gbnf, "hello Bob"));
}

TEST(GrammarParse, ErrorsNameLineAndColumn) {
    EXPECT_EQ(parse_error("root ::= \"a\"\nroot ::= \"b\""),
              "grammar error at line 2, column 1: rule 'root' is defined twice (first at line 1, "
              "column 1)");
    EXPECT_EQ(parse_error("root ::= foo"),
              "grammar error at line 1, column 10: rule 'foo' is used but never defined");
    EXPECT_EQ(parse_error("root := \"a\""),
              "grammar error at line 1, column 6: expected '::=' after the rule name 'root'");
    EXPECT_EQ(parse_error("root ::= \"abc"),
              "grammar error at line 1, column 10: unterminated string literal");
    EXPECT_EQ(parse_error("root ::= [a-z"),
              "grammar error at line 1, column 10: unterminated character class");
    EXPECT_EQ(parse_error("root ::= [z-a]"),
              "grammar error at line 1, column 14: character range is reversed (its end comes "
              "before its start)");
    EXPECT_EQ(parse_error("root ::= ( \"a\" "),
              "grammar error at line 1, column 10: '(' is never closed");
    EXPECT_EQ(parse_error("root ::= * \"a\""),
              "grammar error at line 1, column 10: '*' must follow something to repeat");
    EXPECT_EQ(parse_error("root ::= \"a\"{3,1}"),
              "grammar error at line 1, column 13: repetition minimum is larger than its maximum");
    EXPECT_EQ(parse_error("root ::= \"a\" )"),
              "grammar error at line 1, column 14: expected the end of the line after rule "
              "'root', found ')'");
    EXPECT_EQ(parse_error("root ::= \"\\q\""),
              "grammar error at line 1, column 11: unknown escape \\q");
    EXPECT_EQ(parse_error("start ::= \"a\""),
              "grammar error: there is no rule named 'root' to start from");
    EXPECT_EQ(parse_error("root ::= \"a\"{99999}"),
              "grammar error at line 1, column 14: repetition count above the limit of 10000");
    EXPECT_EQ(parse_error("root ::= \"\\xZZ\""),
              "grammar error at line 1, column 13: expected 2 hexadecimal digits");
    EXPECT_EQ(parse_error("root ::= \"\xff\""),
              "grammar error at line 1, column 11: invalid UTF-8 in the grammar");
}

TEST(GrammarParse, RejectsLeftRecursion) {
    EXPECT_EQ(parse_error("root ::= root \"a\" | \"b\""),
              "grammar error at line 1, column 1: 'root' is left-recursive (root -> root can "
              "repeat without consuming any input)");
    EXPECT_EQ(parse_error("root ::= x\nx ::= y? root \"a\" | \"b\"\ny ::= \"c\""),
              "grammar error at line 2, column 1: 'x' is left-recursive (x -> root -> x can "
              "repeat without consuming any input)");
    EXPECT_EQ(parse_error("root ::= (root \"a\")?"),
              "grammar error at line 1, column 10: the group or repetition at line 1, column 10 "
              "is left-recursive (root~1 -> root -> root~2 -> root~1 can repeat without "
              "consuming any input)");
    // Right recursion, and cycles made only of references that end their alternative, are fine.
    EXPECT_EQ(parse_error("root ::= \"a\" root | \"b\""), "(no error)");
    EXPECT_EQ(parse_error("root ::= x\nx ::= root | \"b\""), "(no error)");
    EXPECT_EQ(parse_error("root ::= (\"a\"?)* \"b\""), "(no error)");
}

TEST(GrammarParse, RejectsGrammarsThatNeverComplete) {
    EXPECT_EQ(parse_error("root ::= \"a\" root"),
              "grammar error: rule 'root' can never complete (every alternative recurses "
              "without end)");
}

TEST(GrammarParse, EnforcesLimits) {
    GrammarLimits small;
    small.max_rules = 20;
    EXPECT_NE(parse_error("root ::= \"a\"{0,50}", small).find("too many rules"), std::string::npos);
    small = {};
    small.max_elements = 100;
    EXPECT_NE(parse_error("root ::= \"" + std::string(200, 'a') + "\"", small).find("too large"),
              std::string::npos);
    small = {};
    small.max_nesting = 10;
    EXPECT_NE(
        parse_error("root ::= " + std::string(20, '(') + "\"a\"" + std::string(20, ')'), small)
            .find("nested too deeply"),
        std::string::npos);
}

TEST(GrammarMatcher, RepetitionBounds) {
    const char* gbnf = "root ::= \"x\"{2,4} \"y\"{3} \"z\"{1,} \"w\"{,2}";
    EXPECT_TRUE(matches(gbnf, "xxyyyz"));
    EXPECT_TRUE(matches(gbnf, "xxxxyyyzzzzww"));
    EXPECT_FALSE(matches(gbnf, "xyyyz"));
    EXPECT_FALSE(matches(gbnf, "xxxxxyyyz"));
    EXPECT_FALSE(matches(gbnf, "xxyyz"));
    EXPECT_FALSE(matches(gbnf, "xxyyy"));
    EXPECT_FALSE(matches(gbnf, "xxyyyzwww"));
    // Repeating an empty literal (found by the fuzzer) matches the empty string.
    EXPECT_TRUE(matches("root ::= \"a\" \"\"{2,3} \"\"* \"b\"", "ab"));
}

TEST(GrammarMatcher, PrefixesAreAcceptedButIncomplete) {
    GrammarMatcher m(Grammar::parse("root ::= \"ab\" | \"abcd\""));
    EXPECT_FALSE(m.is_complete());
    m.accept("a");
    EXPECT_FALSE(m.is_complete());
    m.accept("b");
    EXPECT_TRUE(m.is_complete());
    EXPECT_TRUE(m.can_continue());
    EXPECT_TRUE(m.accepts("cd"));
    EXPECT_FALSE(m.accepts("ce"));
    EXPECT_THROW(m.accept("x"), Error);
    m.accept("cd");  // the failed accept left the state alone
    EXPECT_TRUE(m.is_complete());
    EXPECT_FALSE(m.can_continue());
    m.reset();
    EXPECT_FALSE(m.is_complete());
    EXPECT_TRUE(m.accepts("abcd"));
}

TEST(GrammarMatcher, DecodesUtf8ForCharacterClasses) {
    const char* gbnf = "root ::= [à-ÿ]+ [^a-z] \"€\" .";
    EXPECT_TRUE(matches(gbnf, "éà!€😀"));
    EXPECT_TRUE(matches(gbnf, "ÿ\xE4\xB8\xAD€x"));  // 中
    EXPECT_FALSE(matches(gbnf, "e!€x"));
    EXPECT_FALSE(matches(gbnf, "éa€x"));
    GrammarMatcher m(Grammar::parse(gbnf));
    // A code point split across pieces: each part is checked against what it can become.
    EXPECT_TRUE(m.accepts("\xC3"));       // lead byte of U+00C0..U+00FF
    EXPECT_FALSE(m.accepts("\xC2"));      // U+0080..U+00BF: outside [à-ÿ]
    EXPECT_FALSE(m.accepts("\xC3\x28"));  // not a continuation byte
    m.accept("\xC3");
    EXPECT_FALSE(m.is_complete());
    m.accept("\xA9");  // é
    // Invalid UTF-8 never matches, not even '.': overlong forms, surrogates, stray bytes.
    GrammarMatcher any(Grammar::parse("root ::= .*"));
    EXPECT_FALSE(any.accepts("\xC0\xAF"));
    EXPECT_FALSE(any.accepts("\xE0\x80"));
    EXPECT_FALSE(any.accepts("\xED\xA0\x80"));
    EXPECT_FALSE(any.accepts("\xF4\x90\x80\x80"));
    EXPECT_FALSE(any.accepts("\x80"));
    EXPECT_TRUE(any.accepts("\xF4\x8F\xBF\xBF"));
}

TEST(GrammarMatcher, AmbiguousGrammarsTrackEveryParse) {
    // "a"* "a" "b": the matcher cannot know which 'a' is the last one until it sees 'b'.
    EXPECT_TRUE(matches("root ::= \"a\"* \"a\" \"b\"", "aaaab"));
    EXPECT_TRUE(matches("root ::= x x\nx ::= \"a\" | \"aa\" | \"\"", "aaa"));
    EXPECT_FALSE(matches("root ::= x x\nx ::= \"a\" | \"aa\" | \"\"", "aaaaa"));
}

TEST(GrammarMatcher, ExplosiveAmbiguityIsAnError) {
    // Each "+?" nests another optional repetition around the last (found by the fuzzer).
    std::string nested = "root ::= \"a\"";
    for (int i = 0; i < 20; ++i) nested += "+?";
    EXPECT_THROW(
        {
            GrammarMatcher explosive(Grammar::parse(nested));
            explosive.accept("aa");
        },
        Error);
    GrammarMatcher ok(Grammar::parse("root ::= \"a\"++"));  // a little is fine
    EXPECT_TRUE(ok.accepts("aaaa"));
}

TEST(GrammarMatcher, DeepNestingIsBounded) {
    GrammarLimits limits;
    limits.max_stack_depth = 50;
    auto g = Grammar::parse("root ::= \"(\" root \")\" | \"x\"", "root", limits);
    GrammarMatcher m(g);
    EXPECT_TRUE(m.accepts(std::string(40, '(') + "x" + std::string(40, ')')));
    EXPECT_FALSE(m.accepts(std::string(60, '(')));
}

TEST(GrammarMatcher, LongInputsKeepMemoryBounded) {
    auto g = Grammar::parse("root ::= (\"[\" root \"]\" | \"a\")*");
    GrammarMatcher m(g);
    for (int i = 0; i < 30000; ++i) m.accept(i % 3 == 0 ? "[a" : i % 3 == 1 ? "a" : "]");
    EXPECT_TRUE(m.is_complete());
}

}  // namespace
}  // namespace uma
