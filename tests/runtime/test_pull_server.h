#pragma once
// A real HTTP server on loopback for the pull tests: Python's http.server with Range requests,
// a Hugging Face-style redirect carrying X-Linked-Etag, an HTML page, and transfers that drop
// the connection part-way. Every request is logged (path and Range header) for the tests to read.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace uma::test {

inline constexpr const char* kPullServerScript = R"PY(
import http.server, os, re, sys, urllib.parse
root, port_file, log_file = sys.argv[1], sys.argv[2], sys.argv[3]
dropped = set()

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def log(self):
        with open(log_file, 'a') as f:
            f.write('%s %s range=%s\n' % (self.command, self.path, self.headers.get('Range', '-')))

    def do_HEAD(self):
        self.handle_request(head=True)

    def do_GET(self):
        self.handle_request(head=False)

    def handle_request(self, head):
        self.log()
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == '/page.html':
            body = b'<!DOCTYPE html><html><body>Not here</body></html>'
            self.send_response(200)
            self.send_header('Content-Type', 'text/html')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return
        m = re.match(r'^/(files|resolve)/([A-Za-z0-9._-]+)$', url.path)
        path = os.path.join(root, m.group(2)) if m else ''
        if not m or not os.path.isfile(path):
            self.send_error(404)
            return
        if m.group(1) == 'resolve':  # like huggingface.co/.../resolve/main/FILE
            self.send_response(302)
            self.send_header('Location', '/files/' + m.group(2))
            if 'sha' in query:
                self.send_header('X-Linked-Etag', '"%s"' % query['sha'][0])
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        data = open(path, 'rb').read()
        start = 0
        rng = self.headers.get('Range')
        if rng:
            start = int(re.match(r'bytes=(\d+)-', rng).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header('Content-Range', 'bytes */%d' % len(data))
                self.end_headers()
                return
            self.send_response(206)
            self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(len(data) - start))
        self.send_header('ETag', '"v1-%d"' % len(data))
        self.end_headers()
        if head:
            return
        body = data[start:]
        # drop=N: the first transfer of this file stops after N bytes and closes the connection.
        if 'drop' in query and url.path not in dropped:
            dropped.add(url.path)
            self.wfile.write(body[:int(query['drop'][0])])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
with open(port_file + '.tmp', 'w') as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + '.tmp', port_file)
server.serve_forever()
)PY";

// Starts the server over `root` on a free port; stops it when destroyed.
class PullServer {
  public:
    explicit PullServer(const std::filesystem::path& root) : dir_(root / ".server") {
        std::filesystem::create_directories(dir_);
        std::ofstream(dir_ / "server.py") << kPullServerScript;
        const std::string script = (dir_ / "server.py").string(),
                          port_file = (dir_ / "port").string(), log = (dir_ / "log").string(),
                          served = root.string();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::execlp("python3", "python3", script.c_str(), served.c_str(), port_file.c_str(),
                     log.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!std::filesystem::exists(port_file) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::ifstream(port_file) >> port_;
        if (port_ == 0) ADD_FAILURE() << "the test HTTP server (python3) did not start";
    }
    ~PullServer() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    PullServer(const PullServer&) = delete;
    PullServer& operator=(const PullServer&) = delete;

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    std::string log() const {
        std::ifstream in(dir_ / "log");
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

  private:
    std::filesystem::path dir_;
    pid_t pid_ = -1;
    int port_ = 0;
};

}  // namespace uma::test
