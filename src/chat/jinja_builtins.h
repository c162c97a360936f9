#pragma once
// The interpreter's library: methods of str / list / dict / loop values, global functions,
// filters and tests.
#include <string>

#include "chat/jinja_value.h"

namespace uma::jinja {

// Methods (`'a,b'.split(',')`, `d.items()`, `l.append(x)`, `loop.cycle('a', 'b')`).
bool has_method(const Value& self, const std::string& name);
Value call_method(Runtime& rt, const Value& self, const std::string& name, const Args& args);

// Global functions: range, namespace, dict, raise_exception, strftime_now.
// raise_exception throws uma::Error carrying exactly the template's message.
void add_globals(Runtime& rt, DictObj& globals);

// Filters (`x | name(args)`) and tests (`x is name(args)`); unknown names throw.
Value apply_filter(Runtime& rt, const std::string& name, const Value& input, const Args& args);
bool apply_test(Runtime& rt, const std::string& name, const Value& input, const Args& args);
bool filter_exists(const std::string& name);
bool test_exists(const std::string& name);

// Shared helpers.
int64_t to_index(const Value& v, const char* what);
std::string need_string(const Value& v, const char* what);

}  // namespace uma::jinja
