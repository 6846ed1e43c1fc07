package framing

import "testing"

type framesPerRead struct {
	frames [][]byte
	i, off int
}

func (o *framesPerRead) Read(p []byte) (int, error) {
	f := o.frames[o.i]
	n := copy(p, f[o.off:])
	o.off += n
	if o.off == len(f) {
		o.off = 0
		o.i = (o.i + 1) % len(o.frames)
	}
	return n, nil
}

func TestSteadyAllocsVaryingSizes(t *testing.T) {
	if raceEnabled {
		t.Skip()
	}
	for _, sizes := range [][]int{{1000, 900}, {5000, 4500, 3000}, {100000, 70000}, {3000, 100}} {
		var frames [][]byte
		for _, s := range sizes {
			frames = append(frames, encodeAll(t, u32{}, [][]byte{make([]byte, s)}))
		}
		r := NewReader(&framesPerRead{frames: frames}, u32{}, nil)
		for i := 0; i < 10; i++ {
			r.ReadFrame()
		}
		a := testing.AllocsPerRun(1000, func() {
			if _, err := r.ReadFrame(); err != nil {
				t.Fatal(err)
			}
		})
		if a != 0 {
			t.Errorf("sizes %v: %v allocs/frame", sizes, a)
		}
	}
}
