package core

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/sim/policy"
	"github.com/fsepuglia/fsepuglia/adapter/sim/seed"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
)

const cf = "FSEPGL01E41A145J"

func TestOpenFirstStartThenReuse(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Seeded || len(d.PKI.Generated) == 0 {
		t.Fatalf("first start: seeded %v generated %v", d.Seeded, d.PKI.Generated)
	}
	n, _ := d.Store.TaccuinoCounts(seed.PatientA)
	d.Close()
	d, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Seeded || len(d.PKI.Generated) != 0 {
		t.Fatalf("second start: seeded %v generated %v", d.Seeded, d.PKI.Generated)
	}
	m, _ := d.Store.TaccuinoCounts(seed.PatientA)
	if m[store.KindRilevazioni] != n[store.KindRilevazioni] || n[store.KindRilevazioni] == 0 {
		t.Fatalf("counts changed across restart: %v vs %v", n, m)
	}
}

func TestSearchAndRetrieveApplyPolicy(t *testing.T) {
	d, err := Open(t.TempDir(), Options{NoSeed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	old := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	recent := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	docs := []store.DocumentMeta{
		{UniqueID: "old", CreationTime: old, PublishedBy: "A"},
		{UniqueID: "r1", CreationTime: recent, PublishedBy: "A"},
		{UniqueID: "r2", CreationTime: recent.Add(time.Hour), PublishedBy: "A", EventCodes: []string{"P99"}},
		{UniqueID: "r3", CreationTime: recent.Add(2 * time.Hour), PublishedBy: "B"},
	}
	for _, m := range docs {
		m.PatientCF = cf
		if _, err := d.Store.Publish(m, bytes.NewReader([]byte(m.UniqueID))); err != nil {
			t.Fatal(err)
		}
	}
	set := func(ch ...store.ConsentChange) {
		if _, err := d.Store.RecordConsents(cf, ch, store.ConsentActor{Role: "OGC"}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(ms []store.DocumentMeta) string {
		s := ""
		for _, m := range ms {
			s += m.UniqueID + " "
		}
		return s
	}
	// No consents yet: refused as a whole with FSE-00451.
	_, _, err = d.Search(store.Filter{PatientCF: cf}, "A")
	if dec, ok := IsRefused(err); !ok || dec.Reason != policy.ReasonNoC2 || dec.FaultCode() != "FSE-00451" {
		t.Fatalf("no C2: %v", err)
	}
	set(store.ConsentChange{Code: "C2", Value: true})
	tests := []struct {
		name      string
		requester string
		offset    int
		limit     int
		total     int
		ids       string
	}{
		{"publisher sees obscured, not pregresso", "A", 0, 0, 3, "r3 r2 r1 "},
		{"other structure", "B", 0, 0, 2, "r3 r1 "},
		{"paging after policy has no holes", "B", 1, 1, 2, "r1 "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			total, page, err := d.Search(store.Filter{PatientCF: cf, Offset: tc.offset, Limit: tc.limit}, tc.requester)
			if err != nil || total != tc.total || ids(page) != tc.ids {
				t.Fatalf("got %d [%s] %v", total, ids(page), err)
			}
		})
	}
	retrieve := []struct {
		id, requester string
		fault         string
		notFound      bool
	}{
		{"r1", "B", "", false},
		{"old", "B", "FSE-00451", false},
		{"r2", "B", "FSE-00404", false},
		{"r2", "A", "", false},
		{"nope", "A", "", true},
	}
	for _, tc := range retrieve {
		t.Run("retrieve "+tc.id+" by "+tc.requester, func(t *testing.T) {
			_, body, err := d.Retrieve(tc.id, tc.requester)
			if tc.notFound {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("got %v", err)
				}
				return
			}
			if tc.fault == "" {
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(body)
				body.Close()
				if string(b) != tc.id {
					t.Fatalf("body %q", b)
				}
				return
			}
			dec, ok := IsRefused(err)
			if !ok || dec.FaultCode() != tc.fault {
				t.Fatalf("got %v, want fault %s", err, tc.fault)
			}
		})
	}
	set(store.ConsentChange{Code: "C4", Value: true})
	if _, _, err := d.Search(store.Filter{PatientCF: cf}, "A"); err == nil {
		t.Fatal("opposition did not refuse the search")
	}
}
