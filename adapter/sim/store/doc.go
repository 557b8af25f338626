// Package store is the simulator's persistence: document metadata, consents and the
// Taccuino in one bbolt file, document bodies as content-addressed files, and the replay
// cache in memory with an append log (replay.log) flushed once a second.
//
// A Store is safe for concurrent use by many goroutines and is meant to be opened once per
// data directory and shared. Its state survives a restart. See DESIGN.md for the layout and
// for why bbolt was chosen.
package store
