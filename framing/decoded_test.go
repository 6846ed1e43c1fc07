package framing

import "testing"

func TestDecodedConstructors(t *testing.T) {
	for _, tc := range []struct {
		d           Decoded
		start, end  int
		frame       bool
		advance     int
		need        int
		exact       bool
		description string
	}{
		{Decoded{}, 0, 0, false, 0, 0, false, "Need(0)"},
		{Frame(4, 20, 20), 4, 20, true, 20, 0, false, "Frame(4, 20, 20)"},
		{Frame(0, 0, 1), 0, 0, true, 1, 0, false, "Frame(0, 0, 1)"},
		{Consume(7), 0, 0, false, 7, 0, false, "Consume(7)"},
		{Need(5), 0, 0, false, 0, 5, false, "Need(5)"},
		{NeedExact(1 << 40), 0, 0, false, 0, 1 << 40, true, "NeedExact(1099511627776)"},
		{Need(-3), 0, 0, false, 0, -3, false, "Need(-3)"},
		{NeedExact(maxInt), 0, 0, false, 0, maxInt, true, ""},
	} {
		start, end, ok := tc.d.Frame()
		need, exact := tc.d.Need()
		if start != tc.start || end != tc.end || ok != tc.frame || tc.d.Advance() != tc.advance || need != tc.need || exact != tc.exact {
			t.Errorf("%v: Frame() = %d, %d, %v; Advance() = %d; Need() = %d, %v", tc.d, start, end, ok, tc.d.Advance(), need, exact)
		}
		if tc.description != "" && tc.d.String() != tc.description {
			t.Errorf("String() = %q, want %q", tc.d.String(), tc.description)
		}
	}
}
