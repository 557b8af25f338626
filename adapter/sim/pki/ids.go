package pki

import (
	"fmt"
	"strings"
)

// PartitaIVACheckDigit returns the check digit of an Italian VAT number whose first ten
// digits are given: digits in odd positions are summed, digits in even positions are
// doubled (minus 9 when above 9) and summed; the check digit makes the total a multiple of 10.
func PartitaIVACheckDigit(first10 string) (byte, error) {
	if len(first10) != 10 || strings.Trim(first10, "0123456789") != "" {
		return 0, fmt.Errorf("pki: partita IVA base must be 10 digits, got %d characters", len(first10))
	}
	sum := 0
	for i := 0; i < 10; i++ {
		d := int(first10[i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10), nil
}

// ValidPartitaIVA reports whether s is 11 digits with a correct check digit.
func ValidPartitaIVA(s string) bool {
	if len(s) != 11 {
		return false
	}
	c, err := PartitaIVACheckDigit(s[:10])
	return err == nil && c == s[10]
}

var cfOdd = [36]int{1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0-9
	1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23} // A-Z

// CFCheckLetter returns the check letter of a codice fiscale's first 15 characters
// (domain.md §8).
func CFCheckLetter(first15 string) (byte, error) {
	if len(first15) != 15 {
		return 0, fmt.Errorf("pki: codice fiscale base must be 15 characters, got %d", len(first15))
	}
	sum := 0
	for i := 0; i < 15; i++ {
		ch := first15[i]
		var idx int
		switch {
		case ch >= '0' && ch <= '9':
			idx = int(ch - '0')
		case ch >= 'A' && ch <= 'Z':
			idx = int(ch-'A') + 10
		default:
			return 0, fmt.Errorf("pki: codice fiscale character %d is not A-Z or 0-9", i+1)
		}
		if i%2 == 0 { // odd position, 1-based
			sum += cfOdd[idx]
		} else if idx >= 10 {
			sum += idx - 10
		} else {
			sum += idx
		}
	}
	return byte('A' + sum%26), nil
}

// ValidCF reports whether s is 16 characters with a correct check letter (the structure of
// the other characters is not checked).
func ValidCF(s string) bool {
	if len(s) != 16 {
		return false
	}
	c, err := CFCheckLetter(s[:15])
	return err == nil && c == s[15]
}
