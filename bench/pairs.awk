# Usage: awk -v num=deframer -v den=reader -f bench/pairs.awk RAW (raw benchmark output with a "round N" line before each round)
# Median of per-round paired ratios. Input: benchmark output with "round N" lines
# between rounds; for each benchmark name, the /impl=NUM over /impl=DEN in the same round.
# Usage: awk -v num=deframer -v den=reader -f pairs.awk raw.txt
/^round/ { r++ ; next }
/^Benchmark/ {
  name=$1; sub(/-[0-9]+$/, "", name)
  impl=name; sub(/.*impl=/, "", impl); key=name; sub(/\/impl=[^\/]*/, "", key)
  for (i=2;i<=NF;i++) if ($(i+1)=="ns/op") ns=$i
  v[key, impl, r]=ns; keys[key]=1
}
END {
  n=asorti(keys, ks)
  for (k=1;k<=n;k++) {
    key=ks[k]; m=0; delete a
    for (i=0;i<=r;i++) if ((key,num,i) in v && (key,den,i) in v) a[++m]=v[key,num,i]/v[key,den,i]
    if (m==0) continue
    asort(a)
    med = (m%2) ? a[(m+1)/2] : (a[m/2]+a[m/2+1])/2
    printf "%-40s n=%d median %.3f  min %.3f max %.3f\n", key, m, med, a[1], a[m]
  }
}
