#!/bin/sh
for r in $(seq 10); do
  for v in before after; do
    for B in 'BenchmarkDecodeMem$/codec=u32/size=(16B|4KiB|1MiB)/impl=framekit$' 'BenchmarkDecode7$/codec=u32/size=(16B|4KiB)/impl=framekit$' 'BenchmarkLoopback$/mode=batch/size=64B/impl=framekit$' 'BenchmarkLines$/.*/impl=framekit$' 'BenchmarkConcurrentWriters$'; do
      ./$v.test -test.run '^$' -test.bench "$B" -test.benchmem -test.count 1 -test.benchtime 0.3s | grep '^Benchmark' | sed "s/^Benchmark/$v-Benchmark/"
    done
  done
done > quiet.txt 2>&1
echo done > quiet.done
