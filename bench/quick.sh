#!/bin/sh
# Quick run of every benchmark (npm-free): short load phases and proportionally smaller counts.
#   bench/quick.sh                  # BENCH_SECONDS=2
#   BENCH_SECONDS=4 bench/quick.sh
# Each benchmark still prints its one JSON line; progress goes to stderr.
cd "$(dirname "$0")/.." || exit 1
BENCH_SECONDS="${BENCH_SECONDS:-2}" exec node --import tsx bench/run-all.ts "$@"
