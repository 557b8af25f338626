package outbox

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// release drops the pages of the outbox's memory map from the process's resident set
// (madvise MADV_DONTNEED): bbolt reads through a read-only shared file mapping, so every page
// a walk or a commit reads stays resident, and a long batch would make the process grow by
// the file's size. On a shared file mapping MADV_DONTNEED only unmaps the pages: the next
// access maps them again from the page cache, with the same contents (madvise(2)). It must
// run inside a transaction (tx), which keeps bbolt from remapping meanwhile; the range is the
// file's size as that transaction sees it, which the mapping covers.
func release(tx *bolt.Tx) {
	size := tx.Size()
	if size <= 0 {
		return
	}
	if releaseHook != nil {
		releaseHook(tx)
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, tx.DB().Info().Data, uintptr(size), syscall.MADV_DONTNEED)
}

// releaseHook, when set (tests only, before the outbox is used), is called by release before
// it drops the pages: a test reads there how many pages of the map are resident.
var releaseHook func(tx *bolt.Tx)
