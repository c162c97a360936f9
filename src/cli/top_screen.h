#pragma once
// The terminal `uma top` draws on (ncurses), kept apart so that no other file sees curses.h's
// macros.
#include <string>
#include <vector>

namespace uma::cli {

class TopScreen {
  public:
    // Takes over the terminal (raw keys, no echo, hidden cursor); throws uma::Error when stdout
    // is not a terminal ncurses can drive.
    TopScreen();
    ~TopScreen();  // gives the terminal back
    TopScreen(const TopScreen&) = delete;
    TopScreen& operator=(const TopScreen&) = delete;

    int width() const;
    // Replaces the screen with `lines` (the first in bold, each cut at the screen's width).
    void draw(const std::vector<std::string>& lines);

    enum class Key { None, Quit, Resize, Other };
    // Waits up to `timeout_ms` for a key: q, Q, Escape and Ctrl-C quit.
    Key read_key(int timeout_ms);
};

}  // namespace uma::cli
