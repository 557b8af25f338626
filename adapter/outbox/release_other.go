//go:build !linux

package outbox

import bolt "go.etcd.io/bbolt"

// release is a no-op outside Linux (see release_linux.go).
func release(*bolt.Tx) {}
