// Static checks of a parsed grammar: the start rule can produce a complete text, and no rule can
// reach itself without consuming input in a way that grows the parse stack (left recursion),
// which would make matching loop forever. All passes are linear or near-linear and iterative:
// grammars are untrusted input.
#include <algorithm>
#include <string>

#include "sampling/grammar_program.h"
#include "uma/core/error.h"

namespace uma::grammar_detail {
namespace {

std::string where(const Rule& rule) {
    return "line " + std::to_string(rule.line) + ", column " + std::to_string(rule.column);
}

std::string display_name(const Rule& rule) {
    if (!rule.generated) return "'" + rule.name + "'";
    return "the group or repetition at " + where(rule);
}

// Rules that satisfy a property which holds for an alternative when all its rule references
// hold and, if !chars_hold, it has no characters (nullable: derives the empty string; with
// chars_hold: productive, derives some finite string). A worklist fixpoint: linear time.
std::vector<bool> rules_where_all_refs_hold(const Program& program, bool chars_hold) {
    const size_t n = program.rules.size();
    std::vector<bool> holds(n, false);
    struct Alternative {
        uint32_t rule;
        size_t pending;  // references not yet known to hold
        bool blocked;    // contains a character (when characters do not hold)
    };
    std::vector<Alternative> alternatives;
    std::vector<std::vector<uint32_t>> used_in(n);  // rule -> alternatives referencing it
    std::vector<uint32_t> work;
    for (uint32_t r = 0; r < n; ++r) {
        for (uint32_t start : program.rules[r].alternatives) {
            Alternative alt{r, 0, false};
            const auto index = static_cast<uint32_t>(alternatives.size());
            for (uint32_t p = start; program.elements[p].kind != ElementKind::End; ++p) {
                const Element& e = program.elements[p];
                if (e.kind == ElementKind::Char) {
                    if (!chars_hold) alt.blocked = true;
                } else {
                    ++alt.pending;
                    used_in[e.value].push_back(index);
                }
            }
            alternatives.push_back(alt);
            if (!alt.blocked && alt.pending == 0 && !holds[r]) {
                holds[r] = true;
                work.push_back(r);
            }
        }
    }
    while (!work.empty()) {
        const uint32_t r = work.back();
        work.pop_back();
        for (uint32_t index : used_in[r]) {  // once per reference, so duplicates count twice
            Alternative& alt = alternatives[index];
            if (--alt.pending == 0 && !alt.blocked && !holds[alt.rule]) {
                holds[alt.rule] = true;
                work.push_back(alt.rule);
            }
        }
    }
    return holds;
}

struct LeftEdge {
    uint32_t to;
    bool tail;  // the reference ends its alternative: matching replaces the frame, no growth
};

// Strongly connected components (Tarjan's algorithm without recursion).
std::vector<uint32_t> components(const std::vector<std::vector<LeftEdge>>& graph) {
    const size_t n = graph.size();
    constexpr uint32_t kUnvisited = UINT32_MAX;
    std::vector<uint32_t> index(n, kUnvisited), low(n, 0), component(n, kUnvisited);
    std::vector<bool> on_stack(n, false);
    std::vector<uint32_t> stack;
    std::vector<std::pair<uint32_t, size_t>> calls;  // (node, next edge)
    uint32_t counter = 0, component_count = 0;
    for (uint32_t start = 0; start < n; ++start) {
        if (index[start] != kUnvisited) continue;
        calls.push_back({start, 0});
        index[start] = low[start] = counter++;
        stack.push_back(start);
        on_stack[start] = true;
        while (!calls.empty()) {
            auto& [v, edge] = calls.back();
            if (edge < graph[v].size()) {
                const uint32_t w = graph[v][edge++].to;
                if (index[w] == kUnvisited) {
                    index[w] = low[w] = counter++;
                    stack.push_back(w);
                    on_stack[w] = true;
                    calls.push_back({w, 0});
                } else if (on_stack[w]) {
                    low[v] = std::min(low[v], index[w]);
                }
                continue;
            }
            const uint32_t done = v;
            calls.pop_back();
            if (!calls.empty()) {
                const uint32_t parent = calls.back().first;
                low[parent] = std::min(low[parent], low[done]);
            }
            if (low[done] == index[done]) {
                uint32_t w;
                do {
                    w = stack.back();
                    stack.pop_back();
                    on_stack[w] = false;
                    component[w] = component_count;
                } while (w != done);
                ++component_count;
            }
        }
    }
    return component;
}

// A path from `from` to `to` inside one component, for the error message.
std::vector<uint32_t> path_within(const std::vector<std::vector<LeftEdge>>& graph,
                                  const std::vector<uint32_t>& component, uint32_t from,
                                  uint32_t to) {
    std::vector<uint32_t> previous(graph.size(), UINT32_MAX);
    std::vector<uint32_t> queue{from};
    previous[from] = from;
    for (size_t head = 0; head < queue.size() && previous[to] == UINT32_MAX; ++head) {
        const uint32_t v = queue[head];
        for (const LeftEdge& e : graph[v]) {
            if (component[e.to] != component[from] || previous[e.to] != UINT32_MAX) continue;
            previous[e.to] = v;
            queue.push_back(e.to);
        }
    }
    std::vector<uint32_t> path{to};
    while (path.back() != from && path.size() <= graph.size())
        path.push_back(previous[path.back()]);
    std::reverse(path.begin(), path.end());
    return path;
}

}  // namespace

void check_program(const Program& program) {
    const std::vector<bool> productive = rules_where_all_refs_hold(program, true);
    if (!productive[program.root])
        throw Error("grammar error: rule '" + program.rules[program.root].name +
                    "' can never complete (every alternative recurses without end)");

    // Edges r -> x where x can be reached from r's start without consuming input.
    const std::vector<bool> nullable = rules_where_all_refs_hold(program, false);
    std::vector<std::vector<LeftEdge>> graph(program.rules.size());
    for (uint32_t r = 0; r < program.rules.size(); ++r) {
        for (uint32_t start : program.rules[r].alternatives) {
            for (uint32_t p = start; program.elements[p].kind == ElementKind::RuleRef; ++p) {
                const uint32_t x = program.elements[p].value;
                graph[r].push_back({x, program.elements[p + 1].kind == ElementKind::End});
                if (!nullable[x]) break;
            }
        }
    }
    // A cycle made only of tail references revisits the same frames (the matcher stops there); a
    // cycle with one non-tail reference pushes a return position on every turn: left recursion.
    const std::vector<uint32_t> component = components(graph);
    for (uint32_t r = 0; r < graph.size(); ++r) {
        for (const LeftEdge& e : graph[r]) {
            if (e.tail || component[e.to] != component[r]) continue;
            const std::vector<uint32_t> cycle = path_within(graph, component, e.to, r);
            const Rule& rule = program.rules[r];
            if (rule.generated && cycle.size() == 1 && e.to == r)
                throw Error("grammar error at " + where(rule) +
                            ": the repeated expression can match the empty string");
            std::string chain = program.rules[r].name;
            for (uint32_t step : cycle) chain += " -> " + program.rules[step].name;
            throw Error("grammar error at " + where(rule) + ": " + display_name(rule) +
                        " is left-recursive (" + chain +
                        " can repeat without consuming any input)");
        }
    }
}

}  // namespace uma::grammar_detail
