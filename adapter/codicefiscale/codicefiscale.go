// Package codicefiscale validates Italian fiscal codes (codice fiscale, CF) as the FSE uses
// them to identify patients and operators.
//
// A regular code has 16 characters: 6 letters (surname and name), 2 digits (year of birth), a
// month letter (A B C D E H L M P R S T), 2 digits (day of birth, plus 40 for women), the
// municipality code (a letter and 3 digits) and a check letter. When two people would get the
// same code (omocodia), the tax agency replaces digits, starting from the right, with the
// letters L M N P Q R S T U V (standing for 0 … 9); any of the seven digit positions may carry
// one, and the check letter is computed on the substituted code.
//
// Temporary codes for foreigners not registered with the national health service are
// accepted too: STP (Straniero Temporaneamente Presente) and ENI (Europeo Non Iscritto)
// followed by exactly 13 decimal digits (region, ASL and a progressive number). No check
// character is defined for them, so only that shape is verified.
//
// The published test identities of the ministry's kits use the placeholder birth data
// "00X00X000" (year 00, month X, day 00, municipality X000), e.g. PROVAX00X00X000Y: those
// are accepted as long as their check letter is right, and nothing else with an impossible
// month or day is.
//
// Validate never puts the code itself into its error: at most the one offending character,
// so errors may be logged without leaking a patient's identity.
package codicefiscale

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind says which rule a code breaks.
type Kind int

// The rules a code can break.
const (
	// KindLength: the code is not 16 characters long.
	KindLength Kind = iota + 1
	// KindCharacter: a character is not of the class its position requires.
	KindCharacter
	// KindMonth: the month letter is not one of A B C D E H L M P R S T.
	KindMonth
	// KindDay: the day of birth is not 1-31 (men) or 41-71 (women), or exceeds the month.
	KindDay
	// KindCheck: the check letter does not match the other 15 characters.
	KindCheck
)

// String returns the rule's name.
func (k Kind) String() string {
	switch k {
	case KindLength:
		return "length"
	case KindCharacter:
		return "character"
	case KindMonth:
		return "month"
	case KindDay:
		return "day"
	case KindCheck:
		return "check letter"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a fiscal code that breaks one rule. It never holds the whole code.
type Error struct {
	// Kind is the rule broken.
	Kind Kind
	// Pos is the 1-based position of the offending character (the first of the day digits
	// for KindDay), 0 for KindLength.
	Pos int
	// Found is what was found: the length for KindLength, the character(s) otherwise.
	Found string
	// Expected describes what was expected at that position.
	Expected string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Kind == KindLength {
		return fmt.Sprintf("codice fiscale: %s %s, expected %s", e.Kind, e.Found, e.Expected)
	}
	return fmt.Sprintf("codice fiscale: %s at position %d: found %q, expected %s", e.Kind, e.Pos, e.Found, e.Expected)
}

// Is reports whether target is an *Error of the same Kind, so that
// errors.Is(err, &codicefiscale.Error{Kind: codicefiscale.KindCheck}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && (t.Pos == 0 || t.Pos == e.Pos)
}

// Length is the length of every accepted code, regular or temporary.
const Length = 16

// monthLetters maps the month letter to the month number.
const monthLetters = "ABCDEHLMPRST"

// omocodia lists the letters that replace the digits 0-9 in an omocodic code.
const omocodia = "LMNPQRSTUV"

// oddValues are the values of A-Z (and of 0-9, as A-J) in odd 1-based positions.
var oddValues = [26]int{1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23}

// testPlaceholder is the birth-data placeholder of the ministry's published test identities.
const testPlaceholder = "00X00X000"

// Normalize trims surrounding white space and upper-cases the code. It does not validate.
func Normalize(cf string) string {
	return strings.ToUpper(strings.TrimSpace(cf))
}

// IsTemporary reports whether cf has the shape of a temporary code: STP or ENI followed by
// 13 decimal digits. It does not normalize.
func IsTemporary(cf string) bool {
	if len(cf) != Length || (cf[:3] != "STP" && cf[:3] != "ENI") {
		return false
	}
	for i := 3; i < Length; i++ {
		if !isDigit(cf[i]) {
			return false
		}
	}
	return true
}

// IsTestIdentity reports whether cf is a valid code carrying the placeholder birth data
// "00X00X000" of the ministry's published test identities (e.g. PROVAX00X00X000Y).
func IsTestIdentity(cf string) bool {
	return len(cf) == Length && cf[6:15] == testPlaceholder && Validate(cf) == nil
}

// CheckLetter computes the check letter of the first 15 characters of a regular code,
// which must be upper-case letters or digits.
func CheckLetter(first15 string) (byte, error) {
	if len(first15) < Length-1 {
		return 0, &Error{Kind: KindLength, Found: strconv.Itoa(len(first15)), Expected: "at least 15 characters"}
	}
	sum := 0
	for i := 0; i < Length-1; i++ {
		c := first15[i]
		var v int
		switch {
		case isDigit(c):
			v = int(c - '0')
		case isUpper(c):
			v = int(c - 'A')
		default:
			return 0, &Error{Kind: KindCharacter, Pos: i + 1, Found: string(rune(c)), Expected: "a letter A-Z or a digit"}
		}
		if i%2 == 0 { // odd 1-based position
			v = oddValues[v]
		}
		sum += v
	}
	return byte('A' + sum%26), nil
}

// Validate checks cf as given (call Normalize first to accept lower case and spaces): a
// regular code (with omocodia) or a temporary STP/ENI code. The error is an *Error.
func Validate(cf string) error {
	if len(cf) != Length {
		return &Error{Kind: KindLength, Found: strconv.Itoa(len(cf)), Expected: "16 characters"}
	}
	if cf[:3] == "STP" || cf[:3] == "ENI" {
		if isDigit(cf[3]) {
			for i := 3; i < Length; i++ {
				if !isDigit(cf[i]) {
					return &Error{Kind: KindCharacter, Pos: i + 1, Found: string(rune(cf[i])), Expected: "a digit (temporary " + cf[:3] + " code: 13 digits)"}
				}
			}
			return nil
		}
	}
	for i := 0; i < Length; i++ {
		c := cf[i]
		switch i {
		case 0, 1, 2, 3, 4, 5, 8, 11, 15:
			if !isUpper(c) {
				return &Error{Kind: KindCharacter, Pos: i + 1, Found: string(rune(c)), Expected: "an upper-case letter A-Z"}
			}
		default:
			if !isDigit(c) && strings.IndexByte(omocodia, c) < 0 {
				return &Error{Kind: KindCharacter, Pos: i + 1, Found: string(rune(c)), Expected: "a digit or an omocodia letter (L M N P Q R S T U V)"}
			}
		}
	}
	if cf[6:15] != testPlaceholder {
		month := strings.IndexByte(monthLetters, cf[8]) + 1
		if month == 0 {
			return &Error{Kind: KindMonth, Pos: 9, Found: cf[8:9], Expected: "a month letter (A B C D E H L M P R S T)"}
		}
		day := digitValue(cf[9])*10 + digitValue(cf[10])
		if day > 40 {
			day -= 40
		}
		if day < 1 || day > daysIn(month) {
			return &Error{Kind: KindDay, Pos: 10, Found: cf[9:11], Expected: fmt.Sprintf("a day 01-%02d (or 41-%02d for women) for month %s", daysIn(month), 40+daysIn(month), cf[8:9])}
		}
	}
	want, err := CheckLetter(cf)
	if err != nil {
		return err
	}
	if cf[15] != want {
		return &Error{Kind: KindCheck, Pos: 16, Found: cf[15:16], Expected: fmt.Sprintf("%q", string(rune(want)))}
	}
	return nil
}

// daysIn is the longest month length (February 29: the century is unknown).
func daysIn(month int) int {
	switch month {
	case 2:
		return 29
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// digitValue decodes a digit or an omocodia letter; the character must be one of them.
func digitValue(c byte) int {
	if isDigit(c) {
		return int(c - '0')
	}
	return strings.IndexByte(omocodia, c)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// Shape is the regular expression (no anchors, upper case) of anything shaped like a codice
// fiscale, to find codes in text and redact them: letters where a CF has letters, digits or
// omocodia letters where it has digits; the month and check letters are not checked, so it
// is looser than Validate (over-redacting is the safe side) and still tells codes from words
// such as "IGestoreConsenso". Callers add anchors, word boundaries or (?i) as they need.
const Shape = `[A-Z]{6}[0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]`

// TemporaryShape is the regular expression of an STP or ENI temporary code.
const TemporaryShape = `(?:STP|ENI)[0-9]{13}`
