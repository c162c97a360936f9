// Language tests of the chat-template interpreter on small inline templates. Each expected
// string is what Jinja2 (trim_blocks + lstrip_blocks, tojson as json.dumps with
// ensure_ascii=False, strftime_now fixed to 2026-11-24 12:00) renders for the same template and
// context; they were produced by running Jinja2 on these exact templates.
#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "uma/chat/chat_template.h"

namespace {

const nlohmann::ordered_json& context() {
    static const auto ctx = nlohmann::ordered_json::parse(
        R"J({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Héllo 🚀"}, {"role": "assistant", "content": "Hi!"}], "d": {"b": 1, "a": [1, 2, {"x": null}], "c": 1.5, "t": true}, "l": [3, 1, 2], "names": ["b", "A", "a", "c"], "s": "  Hello World  "})J");
    return ctx;
}

std::tm fixed_time() {
    std::tm tm{};
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 10;
    tm.tm_mday = 24;
    tm.tm_hour = 12;
    timegm(&tm);  // fills in the weekday
    return tm;
}

std::string render(const std::string& source) {
    uma::RenderOptions opts;
    opts.now = fixed_time;
    return uma::ChatTemplate(source).render(context(), opts);
}

}  // namespace

// Generated from Jinja2 3.1.6 with trim_blocks + lstrip_blocks (the transformers setup) by
// rendering each template below; the expected strings are Jinja's own output.
TEST(ChatTemplateWhitespace, TrimBlocksAndLstrip) {
    EXPECT_EQ(render(R"J(<ul>
  {% for i in [1, 2] %}
    <li>{{ i }}</li>
  {% endfor %}
</ul>)J"),
              R"J(<ul>
    <li>1</li>
    <li>2</li>
</ul>)J");
}

TEST(ChatTemplateWhitespace, MinusStripsBothSides) {
    EXPECT_EQ(render(R"J(a  {%- if true -%}  b  {%- endif -%}  c)J"), R"J(abc)J");
}

TEST(ChatTemplateWhitespace, VariableMinus) {
    EXPECT_EQ(render(R"J(a
  {{- 'x' -}}
  b)J"),
              R"J(axb)J");
}

TEST(ChatTemplateWhitespace, PlusDisablesLstrip) {
    EXPECT_EQ(render(R"J(  {%+ if true %}x{% endif %})J"), R"J(  x)J");
}

TEST(ChatTemplateWhitespace, PlusKeepsNewlineAfterBlock) {
    EXPECT_EQ(render(R"J({% if true +%}
x{% endif %})J"),
              R"J(
x)J");
}

TEST(ChatTemplateWhitespace, VariableTagsAreNotLstripped) {
    EXPECT_EQ(render(R"J(  {{ 'v' }}
  {% if true %}
  w
  {% endif %})J"),
              R"J(  v
  w
)J");
}

TEST(ChatTemplateWhitespace, IndentedBlockAfterText) {
    EXPECT_EQ(render(R"J(x {% if true %}y{% endif %} z
  {% if false %}
 no
  {% endif %}
end)J"),
              R"J(x y z
end)J");
}

TEST(ChatTemplateWhitespace, CommentsAndRaw) {
    EXPECT_EQ(render(R"J({# comment #}
  {# indented #}
line
{% raw %}{{ kept }}{% endraw %})J"),
              R"J(line
{{ kept }})J");
}

TEST(ChatTemplateWhitespace, CommentWithMinus) {
    EXPECT_EQ(render(R"J(a  {#- c -#}  b)J"), R"J(ab)J");
}

TEST(ChatTemplateWhitespace, CrLfNormalised) {
    EXPECT_EQ(render(R"J(a
b
{% if true %}
c
{% endif %}
)J"),
              R"J(a
b
c
)J");
}

TEST(ChatTemplateWhitespace, OneTrailingNewlineDropped) {
    EXPECT_EQ(render(R"J(text

)J"),
              R"J(text
)J");
}

TEST(ChatTemplateWhitespace, MacroWithStrip) {
    EXPECT_EQ(render(R"J({% macro f(x) -%}
  [{{ x }}]
{%- endmacro %}
{{ f(1) }}
{{ f(2) }})J"),
              R"J([1]
[2])J");
}

TEST(ChatTemplateExpressions, Arithmetic) {
    EXPECT_EQ(
        render(
            R"J({{ 1 + 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 1 / 4 }}|{{ 4 / 2 }}|{{ 7.5 // 2 }}|{{ 2 ** -1 }})J"),
        R"J(3|3|-4|2|1024|0.25|2.0|3.0|0.5)J");
}

TEST(ChatTemplateExpressions, Precedence) {
    EXPECT_EQ(
        render(
            R"J({{ 1 + 2 * 3 - 4 / 2 }}|{{ -2 ** 2 }}|{{ 2 ** 3 ** 2 }}|{{ 'x' ~ (1 + 2) }}|{{ -3|abs }})J"),
        R"J(5.0|4|64|x3|3)J");
}

TEST(ChatTemplateExpressions, FloatRepr) {
    EXPECT_EQ(
        render(
            R"J({{ 1.0 }}|{{ 1e20 }}|{{ 1.5e-7 }}|{{ 0.1 + 0.2 }}|{{ 1e16 }}|{{ 1e15 }}|{{ 0.0001 }}|{{ -0.0 }})J"),
        R"J(1.0|1e+20|1.5e-07|0.30000000000000004|1e+16|1000000000000000.0|0.0001|-0.0)J");
}

TEST(ChatTemplateExpressions, Literals) {
    EXPECT_EQ(
        render(
            R"J({{ none }}|{{ None }}|{{ True }}|{{ false }}|{{ 1_000 }}|{{ 0x1F }}|{{ 0o17 }}|{{ 0b101 }}|{{ 1E2 }})J"),
        R"J(None|None|True|False|1000|31|15|5|100.0)J");
}

TEST(ChatTemplateExpressions, StringEscapes) {
    EXPECT_EQ(
        render(
            R"J({{ 'a' 'b' }}|{{ "x\ty" }}|{{ '\u00e9\x41\101' }}|{{ 'no\escape' }}|{{ 'it\'s' }})J"),
        R"J(ab|x	y|éAA|no\escape|it's)J");
}

TEST(ChatTemplateExpressions, ContainersRepr) {
    EXPECT_EQ(
        render(
            R"J({{ [1, 'x', none, true, 1.5] }}|{{ {'a': 1, 'b': [2]} }}|{{ (1,) }}|{{ (1, 2) }}|{{ () }}|{{ ["it's"] }})J"),
        R"J([1, 'x', None, True, 1.5]|{'a': 1, 'b': [2]}|(1,)|(1, 2)|()|["it's"])J");
}

TEST(ChatTemplateExpressions, Concat) {
    EXPECT_EQ(render(R"J({{ 'a' ~ 1 ~ none ~ true ~ [1, 'x'] }})J"), R"J(a1NoneTrue[1, 'x'])J");
}

TEST(ChatTemplateExpressions, Comparisons) {
    EXPECT_EQ(
        render(
            R"J({{ 1 < 2 < 3 }}{{ 1 < 3 < 2 }}{{ 'a' < 'b' }}{{ [1, 2] < [1, 3] }}{{ 1 == 1.0 }}{{ true == 1 }}{{ {'a': 1} == {'a': 1} }})J"),
        R"J(TrueFalseTrueTrueTrueTrueTrue)J");
}

TEST(ChatTemplateExpressions, Logic) {
    EXPECT_EQ(
        render(
            R"J({{ not true }}|{{ true and false }}|{{ 0 or 'x' }}|{{ 1 and 'y' }}|{{ none or [] }})J"),
        R"J(False|False|x|y|[])J");
}

TEST(ChatTemplateExpressions, Membership) {
    EXPECT_EQ(
        render(
            R"J({{ 'a' in 'cat' }}{{ 2 in [1, 2] }}{{ 'k' in {'k': 1} }}{{ 3 not in [1] }}{{ 'b' in d }})J"),
        R"J(TrueTrueTrueTrueTrue)J");
}

TEST(ChatTemplateExpressions, Ternary) {
    EXPECT_EQ(render(R"J({{ 1 if true else 2 }}{{ 1 if false else 2 }}[{{ 1 if false }}])J"),
              R"J(12[])J");
}

TEST(ChatTemplateExpressions, ItemAndAttribute) {
    EXPECT_EQ(
        render(
            R"J({{ messages[0]['role'] }}|{{ messages[0].role }}|{{ d.a[2].x }}|{{ d['a'][0] }}|{{ d.a.1 }}|[{{ d.zz }}])J"),
        R"J(system|system|None|1|2|[])J");
}

TEST(ChatTemplateExpressions, Slices) {
    EXPECT_EQ(
        render(
            R"J({{ l[0] }}|{{ l[-1] }}|{{ l[1:] }}|{{ l[::-1] }}|{{ l[:2] }}|{{ 'hello'[1:3] }}|{{ 'hello'[::-1] }}|{{ messages[1].content[1] }}|{{ messages[-2:]|length }})J"),
        R"J(3|2|[1, 2]|[2, 1, 3]|[3, 1]|el|olleh|é|2)J");
}

TEST(ChatTemplateExpressions, DictMethodsWinOverKeys) {
    EXPECT_EQ(render(R"J({{ {'items': 1}['items'] }}|{{ ({'items': 1}.items())|list }})J"),
              R"J(1|[('items', 1)])J");
}

TEST(ChatTemplateExpressions, Markup) {
    EXPECT_EQ(
        render(
            R"J({{ 'a'|safe + '<b>' }}|{{ '<x>' + 'a'|safe }}|{{ 'a'|safe ~ '<b>' }}|{{ ('%s<'|safe) % '<q>' }}|{{ ('a'|safe|upper) + '<' }}|{{ ['a'|safe] }}|{{ 'a'|safe is escaped }}|{{ '<'|e }})J"),
        R"J(a&lt;b&gt;|&lt;x&gt;a|a<b>|&lt;q&gt;<|A&lt;|[Markup('a')]|True|&lt;)J");
}

TEST(ChatTemplateExpressions, PercentAndFormat) {
    EXPECT_EQ(
        render(
            R"J({{ '%s and %d' % ('a', 3) }}|{{ '%05.1f' % 3.14159 }}|{{ '%-4s|' % 'a' }}|{{ '%x' % 255 }}|{{ '{} {}'.format(1, 'b') }}|{{ '{x}!'.format(x=3) }}|{{ '{:>5}'.format('ab') }}|{{ '%s'|format('q') }})J"),
        R"J(a and 3|003.1|a   ||ff|1 b|3!|   ab|q)J");
}

TEST(ChatTemplateStatements, IfElifElse) {
    EXPECT_EQ(
        render(
            R"J({% for x in [1, 2, 3] %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %};{% endfor %})J"),
        R"J(one;two;many;)J");
}

TEST(ChatTemplateStatements, LoopVariables) {
    EXPECT_EQ(
        render(
            R"J({% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %})J"),
        R"J(1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;)J");
}

TEST(ChatTemplateStatements, LoopPrevNext) {
    EXPECT_EQ(
        render(
            R"J({% for m in messages %}[{{ loop.previtem.role if loop.previtem is defined }}|{{ loop.nextitem.role if loop.nextitem is defined }}]{% endfor %})J"),
        R"J([|user][system|assistant][user|])J");
}

TEST(ChatTemplateStatements, LoopElse) {
    EXPECT_EQ(render(R"J({% for x in [] %}a{% else %}empty{% endfor %})J"), R"J(empty)J");
}

TEST(ChatTemplateStatements, LoopFilter) {
    EXPECT_EQ(
        render(
            R"J({% for x in l if x > 1 %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% endfor %})J"),
        R"J(3:1/2 2:2/2 )J");
}

TEST(ChatTemplateStatements, TupleUnpacking) {
    EXPECT_EQ(
        render(
            R"J({% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for (a, b) in [(1, 2)] %}{{ a + b }}{% endfor %})J"),
        R"J(b=1;a=[1, 2, {'x': None}];c=1.5;t=True;3)J");
}

TEST(ChatTemplateStatements, IterateDictAndString) {
    EXPECT_EQ(
        render(
            R"J({% for k in d %}{{ k }}{% endfor %}|{% for c in 'héllo' %}{{ c }}.{% endfor %})J"),
        R"J(bact|h.é.l.l.o.)J");
}

TEST(ChatTemplateStatements, BreakContinue) {
    EXPECT_EQ(
        render(
            R"J({% for i in range(5) %}{% if i == 3 %}{% break %}{% endif %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %})J"),
        R"J(02)J");
}

TEST(ChatTemplateStatements, Recursive) {
    EXPECT_EQ(
        render(
            R"J({% for item in [{'c': [{'c': []}]}, {'c': []}] recursive %}<{{ loop.depth }}{{ loop(item.c) }}>{% endfor %})J"),
        R"J(<1<2>><1>)J");
}

TEST(ChatTemplateStatements, Cycle) {
    EXPECT_EQ(render(R"J({% for x in [1, 2, 3] %}{{ loop.cycle('a', 'b') }}{% endfor %})J"),
              R"J(aba)J");
}

TEST(ChatTemplateStatements, NestedLoops) {
    EXPECT_EQ(
        render(
            R"J({% for a in [[1, 2], [3]] %}{% for b in a %}{{ loop.index }}{{ b }}{% endfor %};{% endfor %})J"),
        R"J(1122;13;)J");
}

TEST(ChatTemplateStatements, LoopScope) {
    EXPECT_EQ(
        render(
            R"J({% set x = 5 %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }})J"),
        R"J([5][5]5)J");
}

TEST(ChatTemplateStatements, Namespace) {
    EXPECT_EQ(
        render(
            R"J({% set ns = namespace(a=1, b=[]) %}{% for i in range(3) %}{% set ns.a = ns.a + i %}{% set ns.b = ns.b + [i] %}{% endfor %}{{ ns.a }}{{ ns.b }})J"),
        R"J(4[0, 1, 2])J");
}

TEST(ChatTemplateStatements, SetTopLevelInIf) {
    EXPECT_EQ(
        render(
            R"J({% if messages[0]['role'] == 'system' %}{% set sys = messages[0]['content'] %}{% set messages = messages[1:] %}{% endif %}{{ sys }}{{ messages|length }})J"),
        R"J(Be brief.2)J");
}

TEST(ChatTemplateStatements, SetTuple) {
    EXPECT_EQ(render(R"J({% set a, b = 1, 2 %}{{ a }}{{ b }})J"), R"J(12)J");
}

TEST(ChatTemplateStatements, BlockSet) {
    EXPECT_EQ(
        render(
            R"J({% set x %}block {{ 1 + 1 }}{% endset %}[{{ x }}]{% set y | upper %}up{% endset %}{{ y }})J"),
        R"J([block 2]UP)J");
}

TEST(ChatTemplateStatements, Macro) {
    EXPECT_EQ(
        render(
            R"J({% macro m(a, b=2, c='z') %}{{ a }}{{ b }}{{ c }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1) }}|{{ m(1, 3) }}|{{ m(1, c='q') }}|{{ m(1, 2, 3, 4) }}|{{ m(1, x=0) }})J"),
        R"J(12z(){}|13z(){}|12q(){}|123(4,){}|12z(){'x': 0})J");
}

TEST(ChatTemplateStatements, MacroRecursion) {
    EXPECT_EQ(
        render(
            R"J({% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }})J"),
        R"J(120)J");
}

TEST(ChatTemplateStatements, MacroSeesGlobalsAtCallTime) {
    EXPECT_EQ(
        render(
            R"J({% macro m() %}{{ y }}{% endmacro %}{% set y = 1 %}{{ m() }}{% set y = 2 %}{{ m() }})J"),
        R"J(12)J");
}

TEST(ChatTemplateStatements, CallBlock) {
    EXPECT_EQ(
        render(
            R"J({% macro outer() %}[{{ caller() }}]{% endmacro %}{% call outer() %}inside{% endcall %}{% macro o2() %}{{ caller(5) }}{% endmacro %}{% call(x) o2() %}got {{ x }}{% endcall %})J"),
        R"J([inside]got 5)J");
}

TEST(ChatTemplateStatements, FilterBlock) {
    EXPECT_EQ(
        render(
            R"J({% filter upper %}hello {{ 'w' }}{% endfilter %}|{% filter trim %}  x  {% endfilter %})J"),
        R"J(HELLO W|x)J");
}

TEST(ChatTemplateStatements, With) {
    EXPECT_EQ(render(R"J({% with x = 5 %}{{ x }}{% endwith %}[{{ x }}])J"), R"J(5[])J");
}

TEST(ChatTemplateStatements, DoAndMutation) {
    EXPECT_EQ(
        render(
            R"J({% set l2 = [1] %}{% do l2.append(2) %}{{ l2 }}{% set _ = l2.append(3) %}{{ l2.pop() }}{{ l2 }}{% set d2 = {'x': 1} %}{% do d2.update({'y': 2}) %}{{ d2 }})J"),
        R"J([1, 2]3[1, 2]{'x': 1, 'y': 2})J");
}

TEST(ChatTemplateFilters, StringFilters) {
    EXPECT_EQ(
        render(
            R"J({{ s|trim }}|{{ s|upper }}|{{ s|lower }}|{{ s|length }}|{{ 'a-b c'|title }}|{{ 'hELLO wORLD'|capitalize }}|{{ 'xxhixx'|trim('x') }}|{{ 'aXbX'|replace('X', '-') }}|{{ 'aXbX'|replace('X', '-', 1) }})J"),
        R"J(Hello World|  HELLO WORLD  |  hello world  |15|A-B C|Hello world|hi|a-b-|a-bX)J");
}

TEST(ChatTemplateFilters, Default) {
    EXPECT_EQ(
        render(
            R"J({{ x|default('d') }}|{{ ''|default('e', true) }}|{{ none|default('n') }}|{{ 0|d(5, boolean=true) }})J"),
        R"J(d|e|None|5)J");
}

TEST(ChatTemplateFilters, Sequences) {
    EXPECT_EQ(
        render(
            R"J({{ l|first }}{{ l|last }}{{ l|length }}{{ l|count }}{{ l|sum }}{{ l|max }}{{ l|min }}{{ l|reverse|list }}{{ 'abc'|reverse }}{{ 'ab'|list }}{{ d|list }})J"),
        R"J(3233631[2, 1, 3]cba['a', 'b']['b', 'a', 'c', 't'])J");
}

TEST(ChatTemplateFilters, Sort) {
    EXPECT_EQ(
        render(
            R"J({{ l|sort }}|{{ l|sort(reverse=true) }}|{{ names|sort }}|{{ names|sort(case_sensitive=true) }}|{{ [{'a': 2}, {'a': 1}]|sort(attribute='a')|map(attribute='a')|join(',') }})J"),
        R"J([1, 2, 3]|[3, 2, 1]|['A', 'a', 'b', 'c']|['A', 'a', 'b', 'c']|1,2)J");
}

TEST(ChatTemplateFilters, Unique) {
    EXPECT_EQ(
        render(
            R"J({{ names|unique|list }}|{{ names|unique(case_sensitive=true)|list }}|{{ [1, 2, 1]|unique|list }})J"),
        R"J(['b', 'A', 'c']|['b', 'A', 'a', 'c']|[1, 2])J");
}

TEST(ChatTemplateFilters, Join) {
    EXPECT_EQ(
        render(R"J({{ l|join('-') }}|{{ l|join }}|{{ messages|join(', ', attribute='role') }})J"),
        R"J(3-1-2|312|system, user, assistant)J");
}

TEST(ChatTemplateFilters, DictFilters) {
    EXPECT_EQ(
        render(
            R"J({{ d|dictsort }}|{{ d|items|list }}|{{ {'b': 1, 'a': 2}|dictsort(by='value') }}|{{ {'B': 1, 'a': 2}|dictsort(reverse=true) }})J"),
        R"J([('a', [1, 2, {'x': None}]), ('b', 1), ('c', 1.5), ('t', True)]|[('b', 1), ('a', [1, 2, {'x': None}]), ('c', 1.5), ('t', True)]|[('b', 1), ('a', 2)]|[('B', 1), ('a', 2)])J");
}

TEST(ChatTemplateFilters, SelectReject) {
    EXPECT_EQ(
        render(
            R"J({{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }}|{{ messages|rejectattr('role', 'eq', 'user')|map(attribute='role')|list }}|{{ [1, 2, 3, 4]|select('odd')|list }}|{{ [1, 2, 3, 4]|reject('even')|list }}|{{ [0, 1, '', none, 'x']|select|list }}|{{ messages|selectattr('role', 'in', ['user', 'system'])|list|length }})J"),
        R"J(['Héllo 🚀']|['system', 'assistant']|[1, 3]|[1, 3]|[1, 'x']|2)J");
}

TEST(ChatTemplateFilters, Map) {
    EXPECT_EQ(
        render(
            R"J({{ ['a', 'B']|map('upper')|list }}|{{ messages|map(attribute='role')|list }}|{{ [{'a': 1}, {}]|map(attribute='a', default=0)|list }}|{{ ['1', '2']|map('int')|sum }})J"),
        R"J(['A', 'B']|['system', 'user', 'assistant']|[1, 0]|3)J");
}

TEST(ChatTemplateFilters, NoneThroughSelectAndMap) {
    EXPECT_EQ(
        render(
            R"J({% set tools = none %}{{ tools|selectattr('type', 'equalto', 'x')|list|length }}{{ tools|map(attribute='x')|list }})J"),
        R"J(0[])J");
}

TEST(ChatTemplateFilters, Numbers) {
    EXPECT_EQ(
        render(
            R"J({{ '5'|int + 1 }}|{{ '3.5'|float }}|{{ 3.7|int }}|{{ '3.7'|int }}|{{ 'x'|int }}|{{ 'x'|int(7) }}|{{ '0x1A'|int(base=16) }}|{{ -3|abs }}|{{ 2.567|round(2) }}|{{ 2.5|round }}|{{ 3|round }}|{{ 2.1|round(method='ceil') }}|{{ 7|float }}|{{ 1|string ~ 2 }})J"),
        R"J(6|3.5|3|3|0|7|26|3|2.57|2.0|3|3.0|7.0|12)J");
}

TEST(ChatTemplateFilters, Indent) {
    EXPECT_EQ(
        render(
            R"J({{ 'line1\nline2\n\nline4'|indent(2) }}|{{ 'a\nb'|indent(2, true) }}|{{ 'a\n\nb'|indent(2, blank=true) }}|{{ 'x\ny'|indent('>>', first=true) }})J"),
        R"J(line1
  line2

  line4|  a
  b|a
  
  b|>>x
>>y)J");
}

TEST(ChatTemplateFilters, Misc) {
    EXPECT_EQ(
        render(
            R"J({{ [3, 2, 1]|batch(2)|list }}|{{ 'The quick brown fox jumps over the lazy dog'|truncate(20) }}|{{ 'a b c'|wordcount }}|{{ '<b>'|escape }}|{{ 'abc'|center(7) }}|{{ {'a': 1}|attr('items') is callable }}|{{ [1, 2, 3, 4, 5]|slice(2)|list }})J"),
        R"J([[3, 2], [1]]|The quick brown...|3|&lt;b&gt;|  abc  |True|[[1, 2, 3], [4, 5]])J");
}

TEST(ChatTemplateJson, Compact) {
    EXPECT_EQ(
        render(
            R"J({{ d|tojson }}|{{ messages|tojson }}|{{ 'x"y\n\t\\'|tojson }}|{{ [1.0, 2.5, none, true, 1e20]|tojson }})J"),
        R"J({"b": 1, "a": [1, 2, {"x": null}], "c": 1.5, "t": true}|[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Héllo 🚀"}, {"role": "assistant", "content": "Hi!"}]|"x\"y\n\t\\"|[1.0, 2.5, null, true, 1e+20])J");
}

TEST(ChatTemplateJson, Indented) {
    EXPECT_EQ(
        render(
            R"J({{ d|tojson(indent=2) }}|{{ [1, [2, 3]]|tojson(indent=4) }}|{{ {'a': {'b': []}, 'c': {}}|tojson(indent=2) }})J"),
        R"J({
  "b": 1,
  "a": [
    1,
    2,
    {
      "x": null
    }
  ],
  "c": 1.5,
  "t": true
}|[
    1,
    [
        2,
        3
    ]
]|{
  "a": {
    "b": []
  },
  "c": {}
})J");
}

TEST(ChatTemplateJson, Options) {
    EXPECT_EQ(
        render(
            R"J({{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}|{{ [1, {'a': 2}]|tojson(separators=(',', ':')) }}|{{ 'é🚀'|tojson(ensure_ascii=true) }})J"),
        R"J({"a": 2, "b": 1}|[1,{"a":2}]|"\u00e9\ud83d\ude80")J");
}

TEST(ChatTemplateJson, Unicode) {
    EXPECT_EQ(
        render(
            R"J({{ 'héllo 統合 🚀'|tojson }}|{{ '\x01\x7f'|tojson }}|{{ {1: 'int key', true: 'b'}|tojson }})J"),
        R"J("héllo 統合 🚀"|"\u0001"|{"1": "b"})J");
}

TEST(ChatTemplateTests, TypeTests) {
    EXPECT_EQ(
        render(
            R"J({{ 'x' is string }}{{ 1 is number }}{{ 1 is integer }}{{ 1.0 is float }}{{ true is integer }}{{ {} is mapping }}{{ [] is iterable }}{{ 'a' is sequence }}{{ none is none }}{{ true is boolean }}{{ true is true }}{{ false is false }}{{ x is iterable }}{{ range is callable }})J"),
        R"J(TrueTrueTrueTrueFalseTrueTrueTrueTrueTrueTrueTrueTrueTrue)J");
}

TEST(ChatTemplateTests, ValueTests) {
    EXPECT_EQ(
        render(
            R"J({{ 5 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}{{ 'Hello' is lower }}{{ 'hi' is lower }}{{ 'HI' is upper }}{{ 1 is sameas 1 }}{{ 2 is in [1, 2] }}{{ 3 is gt 2 }}{{ 3 is lessthan 2 }}{{ 'upper' is filter }}{{ 'odd' is test }})J"),
        R"J(TrueTrueTrueFalseFalseTrueTrueTrueTrueTrueFalseTrueTrue)J");
}

TEST(ChatTemplateTests, DefinedAndNot) {
    EXPECT_EQ(
        render(
            R"J({{ x is defined }}{{ x is undefined }}{{ x is not defined }}{{ d.a is defined }}{{ d.zz is defined }}{{ not x is defined }})J"),
        R"J(FalseTrueTrueTrueFalseTrue)J");
}

TEST(ChatTemplateMethods, StringMethods) {
    EXPECT_EQ(
        render(
            R"J({{ 'a,b,,c'.split(',') }}|{{ ' a b  c '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a-b-c'.rsplit('-', 1) }}|{{ 'xxhixx'.strip('x') }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}|{{ 'abc'.find('c') }}{{ 'abc'.find('z') }}|{{ 'a b'.title() }}|{{ 'aXbX'.replace('X', '') }}|{{ '-'.join(['a', 'b']) }}|{{ 'a\nb'.splitlines() }}|{{ 'aaa'.count('a') }}|{{ 'ab'.upper() }}{{ 'AB'.lower() }}{{ 'ab'.capitalize() }}|{{ '12'.isdigit() }}{{ 'ab'.isalpha() }})J"),
        R"J(['a', 'b', '', 'c']|['a', 'b', 'c']|['a', 'b c']|['a-b', 'c']|hi|Hello World  |  Hello World|TrueTrue|2-1|A B|ab|a-b|['a', 'b']|3|ABabAb|TrueTrue)J");
}

TEST(ChatTemplateMethods, DictMethods) {
    EXPECT_EQ(
        render(
            R"J({{ d.keys()|list }}|{{ d.values()|list }}|{{ d.get('b') }}|{{ d.get('zz', 'dflt') }}|{{ d.get('zz') }}|{{ d.items()|list|length }})J"),
        R"J(['b', 'a', 'c', 't']|[1, [1, 2, {'x': None}], 1.5, True]|1|dflt|None|4)J");
}

TEST(ChatTemplateMethods, ListMethods) {
    EXPECT_EQ(
        render(
            R"J({% set a = [3, 1, 2] %}{{ a.index(1) }}{{ a.count(3) }}{% do a.insert(0, 9) %}{{ a }}{% do a.extend([7]) %}{{ a.pop(0) }}{{ a }}{% do a.sort() %}{{ a }})J"),
        R"J(11[9, 3, 1, 2]9[3, 1, 2, 7][1, 2, 3, 7])J");
}

TEST(ChatTemplateMethods, ContentSplitThink) {
    EXPECT_EQ(
        render(
            R"J({% set content = 'a</think>b</think>final' %}{{ content.split('</think>')[-1] }}|{{ content.split('</think>')[0].strip() }})J"),
        R"J(final|a)J");
}

TEST(ChatTemplateGlobals, Range) {
    EXPECT_EQ(render(R"J({{ range(3)|list }}{{ range(1, 7, 2)|list }}{{ range(5, 0, -2)|list }})J"),
              R"J([0, 1, 2][1, 3, 5][5, 3, 1])J");
}

TEST(ChatTemplateGlobals, StrftimeNow) {
    EXPECT_EQ(
        render(R"J({{ strftime_now('%Y-%m-%d %H:%M %a %b') }}|{{ strftime_now('%d %b %Y') }})J"),
        R"J(2026-11-24 12:00 Tue Nov|24 Nov 2026)J");
}

TEST(ChatTemplateGlobals, DictAndNamespace) {
    EXPECT_EQ(
        render(
            R"J({{ dict(a=1, b=2) }}|{% set ns = namespace({'x': 1}, y=2) %}{{ ns.x }}{{ ns.y }}{{ ns['x'] }})J"),
        R"J({'a': 1, 'b': 2}|121)J");
}
