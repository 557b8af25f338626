package transport

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestValidPartitaIVA(t *testing.T) {
	tests := []struct {
		in   string
		want bool
		note string
	}{
		{"01234567897", true, "example CN of the brief, check digit computed by hand: odd 0+2+4+6+8=20, even 2+6+1+5+9=23, 43 → 7"},
		{"06363391001", true, "public VAT number (Agenzia delle Entrate), hand-computed: odd 15, even 14, 29 → 1"},
		{"80017210727", true, "public fiscal number of Regione Puglia, hand-computed: odd 23, even 10, 33 → 7"},
		{"00000000000", true, "all zeros: sum 0 → 0"},
		{"01234567890", false, "wrong check digit"},
		{"06363391002", false, "wrong check digit"},
		{"80017210721", false, "wrong check digit"},
		{"0123456789", false, "ten digits"},
		{"012345678970", false, "twelve digits"},
		{"0123456789A", false, "letter"},
		{"IT01234567897", false, "country prefix is not part of the CN"},
		{"", false, "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := ValidPartitaIVA(tc.in); got != tc.want {
				t.Errorf("ValidPartitaIVA(%q) = %v, want %v (%s)", tc.in, got, tc.want, tc.note)
			}
		})
	}
}

// TestPartitaIVASingleDigitErrors checks the property that makes the check digit useful:
// exactly one last digit is valid, and any single changed digit is detected.
func TestPartitaIVASingleDigitErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200; n++ {
		first := fmt.Sprintf("%010d", r.Int64N(10_000_000_000))
		valid := 0
		var good string
		for d := '0'; d <= '9'; d++ {
			if s := first + string(d); ValidPartitaIVA(s) {
				valid++
				good = s
			}
		}
		if valid != 1 {
			t.Fatalf("%s: %d valid check digits, want 1", first, valid)
		}
		for pos := 0; pos < 11; pos++ {
			for d := byte('0'); d <= '9'; d++ {
				if good[pos] == d {
					continue
				}
				b := []byte(good)
				b[pos] = d
				if ValidPartitaIVA(string(b)) {
					t.Fatalf("%s → %s: single-digit change not detected", good, b)
				}
			}
		}
	}
}
