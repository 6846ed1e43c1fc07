package framing

import "testing"

func TestDecodedConstructors(t *testing.T) {
	for _, tc := range []struct {
		d           Decoded
		start, end  int
		frame       bool
		advance     int
		need        int
		located     bool
		total       int64
		description string
	}{
		{Decoded{}, 0, 0, false, 0, 0, false, 0, "Need(0)"},
		{Frame(4, 20, 20), 4, 20, true, 20, 0, false, 0, "Frame(4, 20, 20)"},
		{Frame(0, 0, 1), 0, 0, true, 1, 0, false, 0, "Frame(0, 0, 1)"},
		{Consume(7), 0, 0, false, 7, 0, false, 0, "Consume(7)"},
		{Need(5), 0, 0, false, 0, 5, false, 0, "Need(5)"},
		{NeedFrame(4, 1<<40, 1<<40+2), 4, 1 << 40, false, 0, 0, true, 1<<40 + 2, "NeedFrame(4, 1099511627776, 1099511627778)"},
		{NeedFrame(1, 2, 3).Checked(), 1, 2, false, 0, 0, true, 3, "NeedFrame(1, 2, 3).Checked()"},
		{Frame(0, 1, 2).WithKind(9).Final(), 0, 1, true, 2, 0, false, 0, "Frame(0, 1, 2).WithKind(9).Final()"},
		{OverLimit(6), 0, 0, false, 6, 0, false, 0, "OverLimit(6)"},
		{Need(-3), 0, 0, false, 0, -3, false, 0, "Need(-3)"},
	} {
		start, end, ok := tc.d.Frame()
		if ok != tc.frame || (ok && (start != tc.start || end != tc.end)) || tc.d.Advance() != tc.advance || tc.d.Need() != tc.need {
			t.Errorf("%v: Frame() = %d, %d, %v; Advance() = %d; Need() = %d", tc.d, start, end, ok, tc.d.Advance(), tc.d.Need())
		}
		ls, le, lt, lok := tc.d.Located()
		if lok != tc.located || (lok && (ls != tc.start || le != int64(tc.end) || lt != tc.total)) {
			t.Errorf("%v: Located() = %d, %d, %d, %v", tc.d, ls, le, lt, lok)
		}
		if tc.description != "" && tc.d.String() != tc.description {
			t.Errorf("String() = %q, want %q", tc.d.String(), tc.description)
		}
	}
}
