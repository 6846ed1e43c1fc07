# CPU µs per exec ((cpu_s - startup) / execs), Decode/RoundTrip ratio per round and binary; medians (POSIX awk).
function isort(arr, n,   i, j, v) { for (i=2;i<=n;i++) { v=arr[i]; for (j=i-1;j>=1 && arr[j]>v;j--) arr[j+1]=arr[j]; arr[j+1]=v } }
function med(arr, n) { isort(arr, n); return (n%2) ? arr[(n+1)/2] : (arr[n/2]+arr[n/2+1])/2 }
BEGIN { if (startup == "") startup = 0.05 }
/^round/ { us = ($8 - startup) / $6 * 1e6; v[$3, $4, $2] = us; vs[$3] = 1; rs[$2] = 1 }
END { for (k in vs) { m = 0; split("", a); split("", da); split("", ta)
    for (r in rs) if ((k, "Decode", r) in v && (k, "RoundTrip", r) in v) { m++; da[m] = v[k, "Decode", r]; ta[m] = v[k, "RoundTrip", r]; a[m] = da[m] / ta[m] }
    printf "%-5s n=%d CPU per exec: Decode median %.2f us, RoundTrip median %.2f us; Decode/RoundTrip per round: median %.2f", k, m, med(da, m), med(ta, m), med(a, m)
    printf " min %.2f max %.2f\n", a[1], a[m] } }
