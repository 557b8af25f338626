package outbox

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// residentKB returns how much of the outbox's memory map is in the process's resident set,
// read from /proc/self/pagemap (bit 63 of each page's entry: present).
func residentKB(t *testing.T, tx *bolt.Tx) int {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := uintptr(os.Getpagesize())
	base, n := tx.DB().Info().Data, uintptr(tx.Size())/page
	buf := make([]byte, n*8)
	if _, err := f.ReadAt(buf, int64(base/page*8)); err != nil {
		t.Fatal(err)
	}
	kb := 0
	for i := uintptr(0); i < n; i++ {
		if binary.LittleEndian.Uint64(buf[i*8:])&(1<<63) != 0 {
			kb += int(page >> 10)
		}
	}
	return kb
}

// TestReadsReleaseEveryItem: a transaction that reads many items (Walk, Fetch, Enqueue,
// Forget) drops the pages each item mapped before reading the next, so what is resident at
// a release is about one item's worth, whatever the outbox's size (issue 13, flat memory: a
// 10,000-document batch's walks and fetches held up to 2.5 MB of the map when they released
// every 8 items). The reference is what a single Get leaves mapped, measured the same way on
// the same file, so the bound does not depend on the kernel's fault-around size.
func TestReadsReleaseEveryItem(t *testing.T) {
	o, _ := openTemp(t)
	const n = 3000
	es := entries(n)
	meta := []byte(`{"note":"` + strings.Repeat("x", 1500) + `"}`)
	keys := make([]string, n)
	for i := range es {
		es[i].SHA256 = fmt.Sprintf("%064x", rand.Uint64()) // items scattered over the file
		es[i].Metadata = meta
		keys[i] = Key(es[i].SHA256, es[i].UniqueID)
	}
	for i := 0; i < n; i += 100 {
		if _, err := o.Enqueue(es[i : i+100]); err != nil {
			t.Fatal(err)
		}
	}
	peak := 0
	releaseHook = func(tx *bolt.Tx) { peak = max(peak, residentKB(t, tx)) }
	t.Cleanup(func() { releaseHook = nil })

	// One item's worth: the largest of a few single Gets.
	for _, i := range []int{1, n / 3, n / 2, n - 2} {
		o.releaseAll()
		if _, ok, err := o.Get(keys[i]); err != nil || !ok {
			t.Fatalf("get %d: %v %v", i, ok, err)
		}
	}
	one := peak
	if one == 0 {
		t.Skip("a Get left nothing of the map resident: cannot measure here")
	}
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"Walk", func() error { return o.Walk(func(Item) error { return nil }) }},
		{"Fetch", func() error {
			return o.Fetch(keys[:500], func(string, Item, bool) error { return nil })
		}},
		{"Enqueue", func() error { _, err := o.Enqueue(es[:500]); return err }},
	} {
		o.releaseAll()
		peak = 0
		if err := tc.run(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: at most %d KB resident at a release; one Get: %d KB", tc.name, peak, one)
		// A release follows each item. Up to three Gets' worth: a walk reads each item
		// through the index (the index's leaf, then the item's own path), and a chunk's first
		// item also seeks the index from its root. Releasing every 8 items measured 4-5.
		if peak > 3*one {
			t.Errorf("%s: %d KB of the map resident at a release, one Get leaves %d KB: want at most %d", tc.name, peak, one, 3*one)
		}
	}
}
