#!/usr/bin/env bash
# Installs every Debian package uma needs to build and test, on a bare Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(
  g++ cmake ninja-build pkg-config git ccache
  libpcre2-dev nlohmann-json3-dev libcpp-httplib-dev libedit-dev libncurses-dev libssl-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev clang-format
  python3 tmux
  g++-aarch64-linux-gnu qemu-user
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm (for the server's client-library tests): any install will do; Debian's
# packages only when the machine has none (Debian's npm conflicts with NodeSource's nodejs).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The npm clients (openai, ollama) that the server integration tests drive uma serve with.
if [ -f tests/server/npm/package-lock.json ] && [ ! -d tests/server/npm/node_modules ]; then
  (cd tests/server/npm && npm ci --no-audit --no-fund --loglevel=error)
fi
