"""Python's http.client reading chunked bodies that framekit encoded
(issue 19's chunked interop test), all on one kept-alive connection.

    python3 chunked_client.py HOST PORT COUNT

Sends COUNT GETs; each response must carry X-Body-Sha256, the digest of
its body, which http.client decodes from the chunked transfer coding.
Prints "OK I BYTES" per response, then "DONE COUNT", or "FAIL REASON".
"""
import hashlib
import http.client
import sys


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    conn = http.client.HTTPConnection(host, port, timeout=60)
    for i in range(count):
        conn.request("GET", "/body/%d" % i)
        resp = conn.getresponse()
        if resp.getheader("Transfer-Encoding") != "chunked":
            print("FAIL response %d not chunked" % i, flush=True)
            return 1
        body = resp.read()
        want = resp.getheader("X-Body-Sha256")
        if hashlib.sha256(body).hexdigest() != want:
            print("FAIL response %d: digest of %d bytes differs" % (i, len(body)), flush=True)
            return 1
        if resp.will_close:
            print("FAIL response %d closes the connection" % i, flush=True)
            return 1
        print("OK %d %d" % (i, len(body)), flush=True)
    conn.close()
    print("DONE %d" % count, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
