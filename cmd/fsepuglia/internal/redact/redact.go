// Package redact masks patient identifiers before they reach a log line.
//
// The rule (documented in cmd/fsepuglia/CONFIG.md): a codice fiscale keeps its first three
// and last three characters and every other character becomes '*', so that
// FSEPGL01E41A145J is logged as FSE**********45J. Three plus three characters are enough for
// an operator to tell two of their own patients apart in a log, and far too few to identify
// a person: the middle ten characters (birth date, sex, municipality) are the identifying part.
package redact

import "github.com/fsepuglia/fsepuglia/adapter/codicefiscale"

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

// Text masks every codice fiscale that appears in s (fault messages, file names, URLs,
// document ids), as codicefiscale.Find finds them: in any case and wherever they stand, also
// inside a longer run of letters and digits (ID.FSEPGL01E41A145J0001 is logged as
// ID.FSE**********45J0001). A lookalike gets masked too: the safe side.
func Text(s string) string { return codicefiscale.ReplaceAll(s, CF) }

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
