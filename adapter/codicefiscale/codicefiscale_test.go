package codicefiscale

import (
	"errors"
	"strings"
	"testing"
)

// refCheck is an independent implementation of the check letter (the public "BAKPLC…"
// formulation: the odd-position value of a character is the index of its letter, digits
// counting as A-J, in this string), used to build expected results without the code under test.
func refCheck(first15 string) string {
	const odd = "BAKPLCQDREVOSFTGUHMINJWZYX"
	sum := 0
	for i, c := range first15[:15] {
		v := 0
		if c >= '0' && c <= '9' {
			v = int(c - '0')
		} else {
			v = int(c - 'A')
		}
		if i%2 == 0 {
			v = strings.IndexByte(odd, byte('A'+v))
		}
		sum += v
	}
	return string(rune('A' + sum%26))
}

// withCheck appends the reference check letter to 15 characters.
func withCheck(first15 string) string { return first15 + refCheck(first15) }

// omocodic replaces the n rightmost digits of a regular code with their omocodia letters (the
// tax agency's order) and recomputes the check letter with the reference implementation.
func omocodic(cf string, n int) string {
	const letters = "LMNPQRSTUV"
	b := []byte(cf[:15])
	pos := []int{14, 13, 12, 10, 9, 7, 6}
	for _, p := range pos[:n] {
		b[p] = letters[b[p]-'0']
	}
	return withCheck(string(b))
}

var published = []string{"FSEPGL01E41A145J", "FSELBR01C41A145S", "PROVAX00X00X000Y"}

func TestValidateAccepts(t *testing.T) {
	cases := []struct{ name, cf string }{
		{"published 1", published[0]},
		{"published 2", published[1]},
		{"published 3 (placeholder birth data)", published[2]},
		{"synthetic man 31 Dec", withCheck("FSEPGL01T31A145")},
		{"synthetic woman 29 Feb", withCheck("FSEPGL00B69A145")},
		{"STP", "STP1600010000001"},
		{"ENI", "ENI1601140001234"},
	}
	for i := 1; i <= 7; i++ {
		cases = append(cases, struct{ name, cf string }{"omocodic " + string(rune('0'+i)) + " of published 1", omocodic(published[0], i)})
		cases = append(cases, struct{ name, cf string }{"omocodic " + string(rune('0'+i)) + " of published 2", omocodic(published[1], i)})
	}
	// One substitution only in each single position (not the agency's order, still legal).
	for _, p := range []int{6, 7, 9, 10, 12, 13, 14} {
		b := []byte(published[1][:15])
		b[p] = "LMNPQRSTUV"[b[p]-'0']
		cases = append(cases, struct{ name, cf string }{"single omocodia at " + string(rune('0'+p/10)) + string(rune('0'+p%10)), withCheck(string(b))})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(tc.cf); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	good := published[0]
	cases := []struct {
		name string
		cf   string
		kind Kind
		pos  int
	}{
		{"empty", "", KindLength, 0},
		{"15 chars", good[:15], KindLength, 0},
		{"17 chars", good + "A", KindLength, 0},
		{"lower case", strings.ToLower(good), KindCharacter, 1},
		{"digit in surname", "F5EPGL01E41A145J", KindCharacter, 2},
		{"non-omocodia letter in year", "FSEPGLA1E41A145J", KindCharacter, 7},
		{"digit as month", "FSEPGL0141A145J" + "J", KindCharacter, 9},
		{"digit as municipality letter", "FSEPGL01E411145J", KindCharacter, 12},
		{"letter W in municipality digits", "FSEPGL01E41AW45J", KindCharacter, 13},
		{"digit as check letter", "FSEPGL01E41A1451", KindCharacter, 16},
		{"non-ASCII", "FSEPGL01E41A145\xc3", KindCharacter, 16},
		{"month F", withCheck("FSEPGL01F41A145"), KindMonth, 9},
		{"month X without placeholder", withCheck("FSEPGL01X41A145"), KindMonth, 9},
		{"day 00", withCheck("FSEPGL01E00A145"), KindDay, 10},
		{"day 32", withCheck("FSEPGL01E32A145"), KindDay, 10},
		{"day 40", withCheck("FSEPGL01E40A145"), KindDay, 10},
		{"day 72", withCheck("FSEPGL01E72A145"), KindDay, 10},
		{"31 April", withCheck("FSEPGL01D31A145"), KindDay, 10},
		{"30 February woman", withCheck("FSEPGL01B70A145"), KindDay, 10},
		{"omocodic day 32 (PN)", withCheck("FSEPGL01EPNA145"), KindDay, 10},
		{"wrong check letter", good[:15] + "K", KindCheck, 16},
		{"MEF sostituto with wrong check", "PROVAX00X00X000Z", KindCheck, 16},
		{"omocodic without recomputed check", good[:14] + "R" + good[15:], KindCheck, 16},
		{"STP with a letter", "STP16000100A0001", KindCharacter, 12},
		{"STP too short", "STP160001000001", KindLength, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.cf)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate(%q) = %v, want *Error", tc.cf, err)
			}
			if e.Kind != tc.kind || e.Pos != tc.pos {
				t.Fatalf("Validate = %s at %d (%v), want %s at %d", e.Kind, e.Pos, err, tc.kind, tc.pos)
			}
			if !errors.Is(err, &Error{Kind: tc.kind}) {
				t.Fatalf("errors.Is does not match kind %s", tc.kind)
			}
			if len(tc.cf) == Length && strings.Contains(err.Error(), tc.cf) {
				t.Fatalf("error message leaks the code: %v", err)
			}
		})
	}
}

func TestCheckErrorNamesExpectedLetter(t *testing.T) {
	err := Validate(published[1][:15] + "A")
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindCheck {
		t.Fatalf("want check error, got %v", err)
	}
	if e.Found != "A" || e.Expected != `"S"` {
		t.Fatalf("found %q expected %q, want A and \"S\"", e.Found, e.Expected)
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  fsepgl01e41a145j\n", "FSEPGL01E41A145J"},
		{"FSEPGL01E41A145J", "FSEPGL01E41A145J"},
		{"\tstp1600010000001 ", "STP1600010000001"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got := Normalize(tc.in)
			if got != tc.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if err := Validate(got); err != nil {
				t.Fatalf("Validate(Normalize) = %v", err)
			}
		})
	}
}

func TestIsTemporaryAndTestIdentity(t *testing.T) {
	cases := []struct {
		cf         string
		temp, test bool
	}{
		{"STP1600010000001", true, false},
		{"ENI1601140001234", true, false},
		{"STP16000100000A1", false, false},
		{"STX1600010000001", false, false},
		{published[0], false, false},
		{published[2], false, true},
		{"PROVAX00X00X000Z", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.cf, func(t *testing.T) {
			if got := IsTemporary(tc.cf); got != tc.temp {
				t.Errorf("IsTemporary = %v, want %v", got, tc.temp)
			}
			if got := IsTestIdentity(tc.cf); got != tc.test {
				t.Errorf("IsTestIdentity = %v, want %v", got, tc.test)
			}
		})
	}
}

func TestCheckLetterMatchesReference(t *testing.T) {
	// Every character in every position: the table under test against the reference string.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	base := []byte(published[0][:15])
	for p := 0; p < 15; p++ {
		for _, c := range []byte(alphabet) {
			b := append([]byte(nil), base...)
			b[p] = c
			got, err := CheckLetter(string(b))
			if err != nil {
				t.Fatalf("CheckLetter(%q): %v", b, err)
			}
			if string(rune(got)) != refCheck(string(b)) {
				t.Fatalf("CheckLetter(%q) = %c, reference %s", b, got, refCheck(string(b)))
			}
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range published {
		f.Add(s)
	}
	f.Add(omocodic(published[0], 7))
	f.Add("STP1600010000001")
	f.Add("")
	f.Add("FSEPGL01E41A145\xff")
	f.Fuzz(func(t *testing.T, cf string) {
		err := Validate(cf)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not *Error: %v", err)
			}
			return
		}
		if len(cf) != Length || Normalize(cf) != cf {
			t.Fatalf("accepted non-canonical %q", cf)
		}
		if IsTemporary(cf) {
			return
		}
		if refCheck(cf) != cf[15:] {
			t.Fatalf("accepted %q with a check letter the reference rejects", cf)
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	cf := omocodic(published[0], 3)
	for b.Loop() {
		if err := Validate(cf); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFindEveryCaseAndPosition(t *testing.T) {
	cfs := []string{"FSEPGL01E41A145J", "FSELBR01C41A145S", "PROVAX00X00X000Y", "FSEPGLLME41A145J", "STP1234567890123", "ENI1234567890123"}
	wraps := []struct{ before, after string }{
		{"", ""}, {"patient ", "."}, {"ID.", "0001"}, {"X_", "_3"}, {"20260101", ""}, {"abc", "xyz"},
		{"2.16.840.1.113883.2.9.2.160.4.4^", ".0001"}, {"\"", "\""}, {"<v>", "</v>"}, {"ID.", "0001.pdf"}, {"-", "-"},
	}
	for _, cf := range cfs {
		for _, c := range []string{cf, strings.ToLower(cf), strings.ToUpper(cf[:8]) + strings.ToLower(cf[8:])} {
			for _, w := range wraps {
				s := w.before + c + w.after
				found := Find(s)
				if len(found) != 1 || found[0][0] > len(w.before) || found[0][1] < len(w.before)+16 {
					t.Errorf("Find(%q) = %v, want one range covering [%d,%d)", s, found, len(w.before), len(w.before)+16)
				}
				masked := ReplaceAll(s, func(m string) string { return strings.Repeat("*", len(m)) })
				if strings.Contains(strings.ToUpper(masked), strings.ToUpper(cf)) {
					t.Errorf("ReplaceAll(%q) = %q still holds the code", s, masked)
				}
				if !Contains(s) {
					t.Errorf("Contains(%q) = false", s)
				}
			}
		}
	}
	// Two codes back to back, and overlapping candidates, merge.
	if got := Find("FSEPGL01E41A145JFSELBR01C41A145S"); len(got) != 1 || got[0] != [2]int{0, 32} {
		t.Errorf("back to back: %v", got)
	}
	for _, s := range []string{"", "IGestoreConsensoService", "healthcareFacilityTypeCode", "2.16.840.1.113883.2.9.4.3.2",
		"uuid:6f1c2a7e-3b9d-4c1e-8f2a-0123456789ab", "FSEPGL01E41A145", "FSE-00451", "comunicazioneConsensi", "practiceSettingCode",
		"urn:oasis:names:tc:xacml:2.0:subject:role", "searchDocumentsResponse"} {
		if got := Find(s); len(got) != 0 {
			t.Errorf("Find(%q) = %v, want nothing", s, got)
		}
	}
}

func BenchmarkFind(b *testing.B) {
	s := strings.Repeat("<fse:typeCode>11502-2</fse:typeCode> 2.16.840.1.113883.2.9.4.3.2 ", 1000)
	b.SetBytes(int64(len(s)))
	for i := 0; i < b.N; i++ {
		Find(s)
	}
}
