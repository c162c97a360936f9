#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace uma::cli {

// Command-line arguments of one subcommand: positionals and --options (with values or flags).
class Args {
public:
    // `flags` are options that take no value; every other option takes one.
    Args(int argc, char** argv, int first, const std::vector<std::string>& flags,
         const std::vector<std::string>& options);

    const std::vector<std::string>& positional() const { return positional_; }
    bool flag(const std::string& name) const { return flags_.count(name) > 0; }
    std::optional<std::string> value(const std::string& name) const;
    std::string get(const std::string& name, const std::string& fallback) const;
    int64_t get_int(const std::string& name, int64_t fallback) const;
    double get_float(const std::string& name, double fallback) const;

private:
    std::vector<std::string> positional_;
    std::map<std::string, std::string> values_;
    std::map<std::string, bool> flags_;
};

}  // namespace uma::cli
