#pragma once
// The tree-walking evaluator of parsed templates.
//
// Scoping follows Jinja: `for` iterations, macro calls and `with` blocks open a new scope whose
// assignments do not leak out; `if` does not. Macros see the scope they were defined in (the
// current values of its variables at call time). Namespaces (`namespace()`) are shared objects,
// which is how templates carry state out of loops.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_ast.h"
#include "chat/jinja_value.h"

namespace uma::jinja {

struct Frame {
    std::shared_ptr<Frame> parent;
    std::vector<std::pair<std::string, Value>> vars;

    const Value* find(std::string_view name) const {
        for (const Frame* f = this; f; f = f->parent.get()) {
            for (const auto& [k, v] : f->vars) {
                if (k == name) return &v;
            }
        }
        return nullptr;
    }
    void set(std::string_view name, Value v) {
        for (auto& [k, old] : vars) {
            if (k == name) {
                old = std::move(v);
                return;
            }
        }
        vars.emplace_back(std::string(name), std::move(v));
    }
};

// Renders `program` with the variables of `context` (a dict value). Runtime errors throw
// uma::Error("chat template: L:C: ..."); raise_exception() throws uma::Error(message).
// `max_stack_bytes` bounds the native stack the evaluation may use.
std::string render_program(const Program& program, Runtime& rt, const Value& context,
                           size_t max_stack_bytes);

}  // namespace uma::jinja
