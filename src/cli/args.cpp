#include "args.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "uma/core/error.h"

namespace uma::cli {
namespace {

// Short aliases accepted for the options people type most.
std::string canonical(const std::string& name) {
    static const std::map<std::string, std::string> aliases = {
        {"-t", "--threads"}, {"-c", "--ctx"},     {"-n", "--num-predict"},
        {"-s", "--seed"},    {"-v", "--verbose"}, {"-p", "--prompt"},
    };
    const auto it = aliases.find(name);
    return it == aliases.end() ? name : it->second;
}

}  // namespace

Args::Args(int argc, char** argv, int first, const std::vector<std::string>& flags,
           const std::vector<std::string>& options) {
    const auto contains = [](const std::vector<std::string>& list, const std::string& s) {
        return std::find(list.begin(), list.end(), s) != list.end();
    };
    for (int i = first; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--") {
            for (++i; i < argc; ++i) positional_.emplace_back(argv[i]);
            break;
        }
        if (arg.size() < 2 || arg[0] != '-' || (arg[1] >= '0' && arg[1] <= '9')) {
            positional_.push_back(arg);
            continue;
        }
        std::string inline_value;
        bool has_inline = false;
        if (const size_t eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
            inline_value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            has_inline = true;
        }
        const std::string name = canonical(arg);
        if (contains(flags, name)) {
            flags_[name] = true;
        } else if (contains(options, name)) {
            if (!has_inline) {
                if (i + 1 >= argc) throw Error("option " + name + " needs a value");
                inline_value = argv[++i];
            }
            values_[name] = inline_value;
        } else {
            throw Error("unknown option '" + arg + "' (see 'uma help')");
        }
    }
}

std::optional<std::string> Args::value(const std::string& name) const {
    const auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    return value(name).value_or(fallback);
}

int64_t Args::get_int(const std::string& name, int64_t fallback) const {
    const auto v = value(name);
    if (!v) return fallback;
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(v->c_str(), &end, 10);
    if (errno != 0 || end == v->c_str() || *end != '\0')
        throw Error("option " + name + " expects an integer, got '" + *v + "'");
    return n;
}

double Args::get_float(const std::string& name, double fallback) const {
    const auto v = value(name);
    if (!v) return fallback;
    char* end = nullptr;
    errno = 0;
    const double x = std::strtod(v->c_str(), &end);
    if (errno != 0 || end == v->c_str() || *end != '\0')
        throw Error("option " + name + " expects a number, got '" + *v + "'");
    return x;
}

}  // namespace uma::cli
