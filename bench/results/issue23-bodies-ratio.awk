# Decode/RoundTrip ns/op ratio per "round N VARIANT" block; medians per variant (POSIX awk).
function isort(arr, n,   i, j, v) { for (i=2;i<=n;i++) { v=arr[i]; for (j=i-1;j>=1 && arr[j]>v;j--) arr[j+1]=arr[j]; arr[j+1]=v } }
function med(arr, n) { isort(arr, n); return (n%2) ? arr[(n+1)/2] : (arr[n/2]+arr[n/2+1])/2 }
/^round/ { key=$3; r=$2; next }
/^BenchmarkTargetBodies/ { for (i=2;i<=NF;i++) { if ($(i+1)=="ns/op") ns=$i; if ($(i+1)=="allocs/op") al=$i }
  isd = ($1 ~ /Decode/); if (isd) d[key,r]=ns; else t[key,r]=ns; vs[key]=1; rs[r]=1; alc[key,isd]=al }
END { for (k in vs) { m=0; split("", a); split("", da); split("", ta)
    for (x in rs) if ((k,x) in d && (k,x) in t) { m++; a[m]=d[k,x]/t[k,x]; da[m]=d[k,x]; ta[m]=t[k,x] }
    mr=med(a,m); printf "%-10s n=%d Decode median %.0f ns (%s allocs)  RoundTrip median %.0f ns (%s allocs)  Decode/RoundTrip per round: median %.2f min %.2f max %.2f\n", k, m, med(da,m), alc[k,1], med(ta,m), alc[k,0], mr, a[1], a[m] } }
