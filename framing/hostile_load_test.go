package framing_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// The peers of the mixed hostile load, and the error each one's connection
// must end with on the server.
const (
	peerHonest    = iota // 20 request/response frames of up to 8 KiB: io.EOF
	peerStalled          // half of a 32 KiB frame, then nothing: ErrSlowPeer
	peerDrip             // a 32 KiB frame a byte every 20 ms: ErrSlowPeer
	peerOversized        // a header declaring 1 GiB: ErrFrameTooLarge
	peerCorrupt          // a negative length: ErrCorrupt
	peerTruncated        // part of a frame, then a half-close: io.ErrUnexpectedEOF
	peerReset            // part of a frame, then a TCP reset: ECONNRESET
	peerKinds
)

var peerNames = [peerKinds]string{"honest", "stalled", "drip", "oversized", "corrupt", "truncated", "reset"}

// loadShare is each kind's share of the connections, in tenths.
var loadShare = [peerKinds]int{4, 1, 1, 1, 1, 1, 1}

// wantEnd reports whether err is how a connection of kind must end.
func wantEnd(kind int, err error) bool {
	switch kind {
	case peerHonest:
		return err == io.EOF
	case peerStalled, peerDrip:
		return errors.Is(err, framing.ErrSlowPeer) && framing.Classify(err) == framing.Fatal
	case peerOversized:
		return errors.Is(err, framing.ErrFrameTooLarge) && framing.Classify(err) == framing.Fatal
	case peerCorrupt:
		return errors.Is(err, framing.ErrCorrupt) && framing.Classify(err) == framing.Fatal
	case peerTruncated:
		return errors.Is(err, io.ErrUnexpectedEOF) && framing.Classify(err) == framing.Fatal
	case peerReset:
		return errors.Is(err, syscall.ECONNRESET) && framing.Classify(err) == framing.Fatal
	}
	return false
}

// TestMixedHostileLoad runs 2,000 connections at once (500 under -race,
// whose goroutine limit is 8,128) against an echo server with a memory
// budget and the slow-peer guard: honest clients, stalled peers, slow
// drips, oversized and corrupt headers, truncations and peers that reset
// mid-frame. Every connection first sends a frame naming its kind and
// number, so that the server's ending error is checked connection by
// connection: every honest frame is echoed and every honest connection
// ends with io.EOF, every hostile one with its error class; the budget
// peaks within its size and is back to zero at the end; the heap in use,
// sampled every 10 ms, grows by no more than the budget plus 32 MiB; and
// there are at most 3 goroutines per connection. No assertion is on
// time: the guard's clock (1 s a frame) decides who is cut off, honest
// frames arrive in one loopback write each, and the test waits for every
// connection to end. The budget holds the stalled peers' half frames
// (5 to 6.5 MiB at the peak) without running out, so BudgetWait is not
// exercised here (TestBudgetWaitEndsAtTheGuardAsBudgetError is where a
// wait is).
//
// It passed 20 runs in a row (go test -run TestMixedHostileLoad -count=20
// ./framing, with and without -race) with two `sha256sum /dev/zero`
// processes, one per core of the 2-core machine, running beside it.
func TestMixedHostileLoad(t *testing.T) {
	conns := 2000
	if framing.RaceEnabled {
		conns = 500
	}
	const (
		budgetSize  = 16 << 20
		honestFrame = 20
		hostileSize = 32 << 10
	)
	codec := lengthprefix.Kafka // signed: a negative length is corrupt
	budget := framing.NewBudget(budgetSize)
	stats := new(framing.Stats)
	opts := &framing.Options{
		MaxFrameSize: 256 << 10,
		FrameTimeout: time.Second,
		MinRate:      4 << 10,
		Budget:       budget,
		BudgetWait:   true, // were memory short, a peer would wait for it rather than fail
		Stats:        stats,
	}
	l, err := framing.Listen("tcp", "127.0.0.1:0", codec, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	baseGoroutines := runtime.NumGoroutine()

	// The server: an echo loop per connection; the first frame names the
	// peer, the error that ends the loop is recorded against it.
	ends := make([]error, conns)
	var ended sync.WaitGroup
	ended.Add(conns)
	var unknown atomic.Int64
	var serving sync.WaitGroup
	serving.Add(1)
	go func() {
		defer serving.Done()
		for {
			c, err := l.AcceptFramed()
			if err != nil {
				return
			}
			serving.Add(1)
			go func() {
				defer serving.Done()
				defer c.Close()
				id, err := c.ReadFrame()
				if err != nil || len(id) != 4 || int(binary.BigEndian.Uint32(id)) >= conns {
					unknown.Add(1)
					return
				}
				n := int(binary.BigEndian.Uint32(id))
				defer ended.Done()
				c.WriteFrame(id)
				for {
					f, err := c.ReadFrame()
					if err == nil {
						err = c.WriteFrame(f)
					}
					if err != nil {
						ends[n] = err
						return
					}
				}
			}()
		}
	}()

	// Sample the heap, the budget and the goroutines every 10 ms.
	var peakHeap, peakBudget, peakG atomic.Int64
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Add(1)
	go func() {
		defer sampling.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peakHeap.Store(max(peakHeap.Load(), int64(m.HeapInuse)-int64(before.HeapInuse)))
			peakBudget.Store(max(peakBudget.Load(), budget.InUse()))
			peakG.Store(max(peakG.Load(), int64(runtime.NumGoroutine()-baseGoroutines)))
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	kinds := make([]int, conns)
	for i, k := 0, 0; i < conns; i++ {
		for k < peerKinds-1 && i >= conns*sumShare(k+1)/10 {
			k++
		}
		kinds[i] = k
	}
	rand.New(rand.NewSource(1)).Shuffle(conns, func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })

	var clientErrs sync.Map // peer number -> error
	var echoed atomic.Int64
	dials := make(chan struct{}, 64) // dials at once, so the accept queue never overflows
	var clients sync.WaitGroup
	for i := 0; i < conns; i++ {
		clients.Add(1)
		go func(n int) {
			defer clients.Done()
			dials <- struct{}{}
			nc, err := net.Dial("tcp", l.Addr().String())
			<-dials
			if err != nil {
				clientErrs.Store(n, err)
				ended.Done() // the server never saw it
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(2 * time.Minute)) // a hung test, not a timing
			if err := runPeer(kinds[n], n, nc, codec, &echoed); err != nil {
				clientErrs.Store(n, err)
			}
		}(i)
	}
	clients.Wait()
	allEnded := make(chan struct{})
	go func() { ended.Wait(); close(allEnded) }()
	select {
	case <-allEnded:
	case <-time.After(2 * time.Minute): // a hung test, not a timing
		t.Fatal("the server's connections did not all end")
	}
	close(stopSampling)
	sampling.Wait()
	l.Close()
	serving.Wait()

	count := map[string]int{}
	wrong := map[string][]string{}
	for n, err := range ends {
		name := peerNames[kinds[n]]
		if wantEnd(kinds[n], err) {
			count[name]++
		} else if len(wrong[name]) < 3 {
			wrong[name] = append(wrong[name], fmt.Sprintf("peer %d: %v", n, err))
		}
	}
	clientErrs.Range(func(k, v any) bool {
		t.Errorf("%s peer %d: %v", peerNames[kinds[k.(int)]], k, v)
		return true
	})
	var names []string
	for k := range wrong {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t.Errorf("%s connections that did not end as they should (first few): %v", k, wrong[k])
	}
	if unknown.Load() != 0 {
		t.Errorf("%d connections did not name themselves", unknown.Load())
	}
	honest := int64(0)
	for _, k := range kinds {
		if k == peerHonest {
			honest++
		}
	}
	if echoed.Load() != honest*honestFrame {
		t.Errorf("%d honest frames echoed intact, want %d", echoed.Load(), honest*honestFrame)
	}
	if got := budget.InUse(); got != 0 {
		t.Errorf("%d bytes of the budget are still held after every connection ended", got)
	}
	if peakBudget.Load() > budgetSize {
		t.Errorf("the budget peaked at %d bytes, over its %d", peakBudget.Load(), budgetSize)
	}
	if peakHeap.Load() > budgetSize+32<<20 {
		t.Errorf("the heap in use peaked %d MiB above its start, over the budget plus 32 MiB (%d MiB)", peakHeap.Load()>>20, (budgetSize+32<<20)>>20)
	}
	if peakG.Load() > int64(3*conns) {
		t.Errorf("%d goroutines at the peak for %d connections, over 3 per connection", peakG.Load(), conns)
	}
	t.Logf("%d connections %v; %d honest frames echoed; peaks: heap +%d MiB, budget %d KiB of %d KiB, %d goroutines; %v",
		conns, count, echoed.Load(), peakHeap.Load()>>20, peakBudget.Load()>>10, budgetSize>>10, peakG.Load(), stats.Snapshot())
}

func sumShare(k int) int {
	s := 0
	for _, v := range loadShare[:k] {
		s += v
	}
	return s
}

// runPeer plays peer n of the given kind on nc: it names itself, reads the
// echo of its name, then behaves as its kind does. Honest peers add each
// frame echoed intact to echoed.
func runPeer(kind, n int, nc net.Conn, codec framing.Codec, echoed *atomic.Int64) error {
	hdr := func(size int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(size)) }
	id := binary.BigEndian.AppendUint32(nil, uint32(n))
	if kind == peerHonest {
		c := framing.NewConn(nc, codec, nil)
		defer c.Close()
		if err := c.WriteFrame(id); err != nil {
			return err
		}
		if got, err := c.ReadFrame(); err != nil || !bytes.Equal(got, id) {
			return fmt.Errorf("the echo of its name: %x, %v", got, err)
		}
		rng := rand.New(rand.NewSource(int64(n)))
		buf := make([]byte, 8<<10)
		for k := 0; k < 20; k++ {
			p := buf[:rng.Intn(len(buf))]
			rng.Read(p)
			if err := c.WriteFrame(p); err != nil {
				return fmt.Errorf("frame %d: %v", k, err)
			}
			got, err := c.ReadFrame()
			if err != nil || !bytes.Equal(got, p) {
				return fmt.Errorf("frame %d: the echo of %d bytes: %d bytes, %v", k, len(p), len(got), err)
			}
			echoed.Add(1)
		}
		return c.CloseWrite() // the server reads io.EOF
	}
	if _, err := nc.Write(append(hdr(4), id...)); err != nil {
		return err
	}
	if _, err := io.ReadFull(nc, make([]byte, 8)); err != nil {
		return fmt.Errorf("the echo of its name: %v", err)
	}
	const size = 32 << 10
	switch kind {
	case peerStalled:
		nc.Write(append(hdr(size), make([]byte, size/2)...)) // held by the server
	case peerDrip:
		nc.Write(hdr(size))
		for k := 0; k < size; k++ { // until the server cuts it off
			if _, err := nc.Write([]byte{byte(k)}); err != nil {
				return nil
			}
			time.Sleep(20 * time.Millisecond)
		}
		return errors.New("the server took a whole frame at 50 bytes/s")
	case peerOversized:
		nc.Write(hdr(1 << 30))
	case peerCorrupt:
		nc.Write(hdr(-5))
	case peerTruncated:
		nc.Write(append(hdr(size), make([]byte, 4<<10+n%1000)...))
		nc.(*net.TCPConn).CloseWrite()
	case peerReset:
		nc.Write(append(hdr(size), make([]byte, 2<<10+n%1000)...))
		nc.(*net.TCPConn).SetLinger(0) // Close sends a reset
		return nil
	}
	io.Copy(io.Discard, nc) // until the server closes
	return nil
}
