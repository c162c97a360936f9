#pragma once
// Talking to a running `uma serve` (uma ps, uma top): where it is, and GET requests to it.
#include <nlohmann/json.hpp>
#include <string>

#include "args.h"

namespace uma::cli {

struct ServerAddress {
    std::string scheme = "http";
    std::string host = "127.0.0.1";
    int port = 11434;
    std::string display() const;  // "127.0.0.1:11434" ("https://" shown when it is https)
};

// --url URL or --host HOST[:PORT] when given (not both; a URL's path is ignored), else UMA_HOST,
// else uma serve's default, 127.0.0.1:11434. A server listening on 0.0.0.0 is reached at
// 127.0.0.1.
ServerAddress server_address(const Args& args);

class ServerClient {
  public:
    explicit ServerClient(ServerAddress address, int connect_timeout_s = 5,
                          int read_timeout_s = 10);
    const ServerAddress& address() const { return address_; }

    // The body of the server's 200 answer to GET `path`, sending UMA_API_KEY when it is set.
    // Throws uma::Error naming the address when there is no server or it answers another status.
    std::string get(const std::string& path) const;
    // Like get, for an answer that must be JSON.
    nlohmann::json get_json(const std::string& path) const;

  private:
    ServerAddress address_;
    int connect_timeout_s_;
    int read_timeout_s_;
};

}  // namespace uma::cli
