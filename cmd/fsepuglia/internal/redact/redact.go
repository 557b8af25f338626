// Package redact masks patient identifiers before they reach a log line.
//
// The rule (documented in cmd/fsepuglia/CONFIG.md): a codice fiscale keeps its first three
// and last three characters and every other character becomes '*', so that
// FSEPGL01E41A145J is logged as FSE**********45J. Three plus three characters are enough for
// an operator to tell two of their own patients apart in a log, and far too few to identify
// a person: the middle ten characters (birth date, sex, municipality) are the identifying part.
package redact

import (
	"regexp"

	"github.com/fsepuglia/fsepuglia/adapter/codicefiscale"
)

// cfShape matches exactly one string shaped like a codice fiscale (codicefiscale.Shape, in
// any case: any letter as month, so the published test identity PROVAX00X00X000Y matches)
// or a temporary STP/ENI code. Masking a lookalike is harmless; missing a real code is not.
var cfShape = regexp.MustCompile(`^(?i:` + codicefiscale.Shape + `|` + codicefiscale.TemporaryShape + `)$`)

// CF masks a codice fiscale: first three and last three characters kept, the rest '*'.
// Strings of six characters or fewer are masked entirely.
func CF(cf string) string {
	b := []byte(cf)
	if len(b) <= 6 {
		for i := range b {
			b[i] = '*'
		}
		return string(b)
	}
	for i := 3; i < len(b)-3; i++ {
		b[i] = '*'
	}
	return string(b)
}

func isLetter(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Text masks every codice fiscale that appears in s (fault messages, file names, URLs,
// document ids). A code counts when no letter touches it on either side: digits,
// underscores, dots, dashes, slashes and spaces all separate (FSEPGL01E41A145J_referto.pdf,
// 20260101FSEPGL01E41A145J.pdf), while the inside of a long word is left alone.
func Text(s string) string {
	const n = 16
	if len(s) < n {
		return s
	}
	var b []byte
	for i := 0; i+n <= len(s); i++ {
		if i > 0 && isLetter(s[i-1]) {
			continue
		}
		if i+n < len(s) && isLetter(s[i+n]) {
			continue
		}
		if !cfShape.MatchString(s[i : i+n]) {
			continue
		}
		if b == nil {
			b = []byte(s)
		}
		copy(b[i:i+n], CF(s[i:i+n]))
		i += n - 1
	}
	if b == nil {
		return s
	}
	return string(b)
}

// Value masks the codici fiscali inside a log field value; strings and errors are
// rewritten, other types are returned unchanged.
func Value(v any) any {
	switch x := v.(type) {
	case string:
		return Text(x)
	case error:
		return Text(x.Error())
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = Text(s)
		}
		return out
	}
	return v
}
