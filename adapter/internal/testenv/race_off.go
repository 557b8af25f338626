//go:build !race

package testenv

// RaceEnabled reports whether the tests run under the race detector (see race_on.go).
const RaceEnabled = false
