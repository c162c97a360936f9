#!/usr/bin/env bash
# Runs the whole test suite (GoogleTest through ctest). Test data: ../shared or $UMA_TEST_DATA.
set -euo pipefail
cd "$(dirname "$0")/.."
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 900
