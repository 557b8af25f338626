//go:build race

package main

// raceEnabled: the black-box serve tests run the binary (built without -race) against an
// in-process simulator; under -race the simulator is ~10× slower, so the 1,000-document
// test is left to the ordinary run.
const raceEnabled = true
