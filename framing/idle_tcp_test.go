package framing

import (
	"testing"
	"time"
)

func TestIdleConnHoldsBufferTCP(t *testing.T) {
	client, server := tcpPair(t)
	wc := NewConn(client, u32{}, nil)
	rc := NewConn(server, u32{}, nil)
	held := 0
	for _, size := range []int{100, 500, 1000, 3000, 10000, 60000} {
		if err := wc.WriteFrame(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		if f, err := rc.ReadFrame(); err != nil || len(f) != size {
			t.Fatal(err)
		}
		rc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := rc.ReadFrame(); Classify(err) != Temporary {
			t.Fatal(err)
		}
		rc.SetReadDeadline(time.Time{})
		if rc.r.e.pooled != nil {
			held++
			t.Logf("after a %d-byte frame the idle conn sat in Read holding %d bytes", size, cap(*rc.r.e.pooled))
		}
	}
	if held > 0 {
		t.Fail()
	}
}
