//go:build race

package testenv

// RaceEnabled reports whether the tests run under the race detector, which makes sync.Pool
// drop a share of what is put back on purpose: a test that counts the allocations a pool
// saves skips its bound then.
const RaceEnabled = true
