package transport

// PartitaIVACheckDigit computes the check digit of the first ten digits of an Italian VAT
// number (partita IVA). Digits in odd positions (1st, 3rd, … 9th) count as they are; digits
// in even positions are doubled and reduced by 9 when the double exceeds 9 (the Luhn rule);
// the check digit is (10 - sum mod 10) mod 10. ok is false unless first10 is ten ASCII digits.
func PartitaIVACheckDigit(first10 string) (digit byte, ok bool) {
	if len(first10) != 10 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		c := first10[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		if i%2 == 1 { // even position counting from 1
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10), true
}

// ValidPartitaIVA reports whether s is eleven digits whose last is the right check digit.
func ValidPartitaIVA(s string) bool {
	if len(s) != 11 {
		return false
	}
	d, ok := PartitaIVACheckDigit(s[:10])
	return ok && s[10] == d
}
