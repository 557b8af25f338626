package pki

import "testing"

func TestCF(t *testing.T) {
	tests := []struct {
		cf    string
		valid bool
	}{
		// Published test identities, valid per domain.md §8.
		{"FSEPGL01E41A145J", true},
		{"FSELBR01C41A145S", true},
		{"PROVAX00X00X000Y", true},
		{"FSEPGL01E41A145K", false},
		{"FSEPGL01E41A145", false},
		{DefaultOperatorCF, true},
	}
	for _, tc := range tests {
		t.Run(tc.cf, func(t *testing.T) {
			if got := ValidCF(tc.cf); got != tc.valid {
				t.Fatalf("ValidCF(%q) = %v", tc.cf, got)
			}
		})
	}
	if _, err := CFCheckLetter("fsepgl01e41a145"); err == nil {
		t.Fatal("lower case accepted")
	}
}

func TestPartitaIVA(t *testing.T) {
	tests := []struct {
		piva  string
		valid bool
	}{
		{"00000000000", true},
		// Worked by hand: odd 1+3+5+7+9=25; even 2,4,6,8,0 doubled → 4,8,3(12-9),7(16-9),0 = 22;
		// 47 → check 3.
		{"12345678903", true},
		{"12345678901", false},
		{DefaultPartitaIVA, true},
		{"1234567890", false},
		{"1234567890A", false},
	}
	for _, tc := range tests {
		t.Run(tc.piva, func(t *testing.T) {
			if got := ValidPartitaIVA(tc.piva); got != tc.valid {
				t.Fatalf("ValidPartitaIVA(%q) = %v", tc.piva, got)
			}
		})
	}
}
