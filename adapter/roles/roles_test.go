package roles

import "testing"

// The lists are codes of three upper-case letters, each once.
func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Legacy() {
		if len(c) != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' || c[2] < 'A' || c[2] > 'Z' {
			t.Errorf("%q is not three upper-case letters", c)
		}
		if seen[c] {
			t.Errorf("%q listed twice", c)
		}
		seen[c] = true
	}
	if len(seen) != len(National)+len(Puglia) {
		t.Fatalf("Legacy has %d codes, want National and Puglia's %d", len(seen), len(National)+len(Puglia))
	}
}
