#include "top_screen.h"

#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <cstdio>
#include <cstdlib>

#include "uma/core/error.h"

#define NCURSES_NOMACROS
#include <curses.h>

namespace uma::cli {

TopScreen::TopScreen() {
    if (!::isatty(STDOUT_FILENO) || !::isatty(STDIN_FILENO))
        throw Error("the live view needs a terminal (use --once for one plain-text frame)");
    std::setlocale(LC_ALL, "");
    if (newterm(nullptr, stdout, stdin) == nullptr)
        throw Error("cannot drive this terminal (TERM=" +
                    std::string(std::getenv("TERM") ? std::getenv("TERM") : "") +
                    "); use --once for one plain-text frame");
    raw();  // Ctrl-C arrives as a key, so the terminal is always given back
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
}

TopScreen::~TopScreen() {
    endwin();
}

int TopScreen::width() const {
    return COLS;
}

void TopScreen::draw(const std::vector<std::string>& lines) {
    erase();
    const int rows = std::min<int>(LINES, static_cast<int>(lines.size()));
    for (int i = 0; i < rows; ++i) {
        if (i == 0) attron(A_BOLD);
        mvaddnstr(i, 0, lines[size_t(i)].c_str(), COLS);
        if (i == 0) attroff(A_BOLD);
    }
    refresh();
}

TopScreen::Key TopScreen::read_key(int timeout_ms) {
    timeout(timeout_ms);
    const int key = getch();
    if (key == ERR) return Key::None;
    if (key == 'q' || key == 'Q' || key == 27 || key == 3) return Key::Quit;
    if (key == KEY_RESIZE) return Key::Resize;
    return Key::Other;
}

}  // namespace uma::cli
