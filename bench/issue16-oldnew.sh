#!/bin/sh
# Interleaved rounds of the framekit rows of bench/run.sh's benchmarks: old (4bc27c5) and new (working tree).
ROUNDS=${ROUNDS:-6}
BT=${BT:-0.2s}
cd "${OLD:-/tmp/old}/bench" # a worktree of the commit to compare against, with /tmp/bench.old and /tmp/bench.new built
: > /tmp/old.txt; : > /tmp/new.txt
for r in $(seq $ROUNDS); do
  for bin in old new; do
    for p in 'Benchmark(DecodeMem|Decode7)$/.*/.*/impl=framekit' 'BenchmarkLoopback$/.*/.*/impl=framekit' 'Benchmark(ConcurrentWriters|Lines|Lines7)$/.*/impl=framekit' 'BenchmarkEncode$/.*/.*/.*/impl=framekit'; do
      /tmp/bench.$bin -test.run '^$' -test.bench "$p" -test.benchtime $BT -test.benchmem >> /tmp/$bin.txt 2>&1
    done
  done
  echo "round $r done $(date +%T)"
done
