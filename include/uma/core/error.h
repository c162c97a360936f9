#pragma once
#include <stdexcept>
#include <string>

namespace uma {

// The single error type of the project. Messages name what is wrong and where, so that the CLI
// and the HTTP server can show them to the user as they are.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace uma
