package codicefiscale

// The finder: one place that decides what counts as a codice fiscale in free text, for every
// redactor of the project (traces, fault texts, the CLI's logs and errors).

// Class table for the 16 positions of Shape: 'L' a letter, 'D' a digit or an omocodia letter.
const shapeClasses = "LLLLLLDDLDDLDDDL"

func isLetterFold(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func isDigitOrOmocodia(c byte) bool {
	if c >= '0' && c <= '9' {
		return true
	}
	c &^= 0x20 // upper case
	switch c {
	case 'L', 'M', 'N', 'P', 'Q', 'R', 'S', 'T', 'U', 'V':
		return true
	}
	return false
}

// shapedAt reports whether s[i:i+16] has the shape of a codice fiscale (Shape, any case).
func shapedAt(s string, i int) bool {
	for k := 0; k < 16; k++ {
		c := s[i+k]
		if shapeClasses[k] == 'L' {
			if !isLetterFold(c) {
				return false
			}
		} else if !isDigitOrOmocodia(c) {
			return false
		}
	}
	return true
}

// temporaryAt reports whether s[i:i+16] is an STP or ENI code (TemporaryShape, any case).
func temporaryAt(s string, i int) bool {
	p := s[i : i+3]
	if !(p[0]|0x20 == 's' && p[1]|0x20 == 't' && p[2]|0x20 == 'p') && !(p[0]|0x20 == 'e' && p[1]|0x20 == 'n' && p[2]|0x20 == 'i') {
		return false
	}
	for k := 3; k < 16; k++ {
		if c := s[i+k]; c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Find returns the byte ranges [start, end) of everything in s shaped like a codice fiscale
// (Shape, in any case) or a temporary STP/ENI code, wherever it stands: alone, between
// underscores or dots, or inside a longer run of letters and digits
// (ID.FSEPGL01E41A145J0001, X_fsepgl01e41a145j_3, 20260101FSEPGL01E41A145J). Overlapping or
// adjacent candidates are merged into one range. Finding a lookalike is harmless (it gets
// masked); missing a real code is not, so no word boundary is required.
func Find(s string) [][2]int {
	var out [][2]int
	for i := 0; i+16 <= len(s); i++ {
		if !shapedAt(s, i) && !temporaryAt(s, i) {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] >= i {
			out[n-1][1] = i + 16
			continue
		}
		out = append(out, [2]int{i, i + 16})
	}
	return out
}

// Contains reports whether s holds anything Find would find.
func Contains(s string) bool {
	for i := 0; i+16 <= len(s); i++ {
		if shapedAt(s, i) || temporaryAt(s, i) {
			return true
		}
	}
	return false
}

// ReplaceAll returns s with every range Find returns replaced by repl(text of the range).
func ReplaceAll(s string, repl func(string) string) string {
	found := Find(s)
	if len(found) == 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	last := 0
	for _, r := range found {
		b = append(b, s[last:r[0]]...)
		b = append(b, repl(s[r[0]:r[1]])...)
		last = r[1]
	}
	return string(append(b, s[last:]...))
}
