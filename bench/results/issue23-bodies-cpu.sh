#!/bin/bash
# CPU time (user+sys, from bash's time) of a fixed number of execs of each body, per binary, interleaved rounds.
cd "$(dirname "$0")/../../fuzz"   # from bench/results
TIMEFORMAT='%U %S'
for i in $(seq 1 ${ROUNDS:-8}); do
  for v in base new; do
    if [ $v = base ]; then b=/tmp/h23-fixbench.test; else b=/tmp/fz.test; fi
    for body in Decode:100000 RoundTrip:200000; do
      name=${body%%:*}; n=${body##*:}
      t=$( { time $b -test.run '^$' -test.bench "TargetBodies/$name\$" -test.benchtime ${n}x >/dev/null; } 2>&1 )
      echo "round $i $v $name execs $n cpu_s $(echo $t | awk '{print $1+$2}') load $(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
