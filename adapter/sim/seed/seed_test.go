package seed

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/sim/pki"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
)

var update = flag.Bool("update", false, "rewrite fixtures/sim/seed-taccuino.json")

const golden = "../../../fixtures/sim/seed-taccuino.json"

// TestGolden pins the seed: a change must be deliberate (new Marker, -update).
func TestGolden(t *testing.T) {
	got, err := json.MarshalIndent(Items(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("golden missing (run with -update once): %v", err)
	}
	if string(got) != string(want) {
		t.Fatal("seed data changed: bump Marker and rerun with -update")
	}
}

// TestPlausible checks the data against ranges a clinician would accept, and that only the
// published test identities appear.
func TestPlausible(t *testing.T) {
	kinds := map[string]map[store.TaccuinoKind]int{}
	for _, it := range Items() {
		if it.PatientCF != PatientA && it.PatientCF != PatientB {
			t.Fatalf("unexpected patient in seed")
		}
		if !pki.ValidCF(it.PatientCF) {
			t.Fatal("seed patient CF has an invalid check letter")
		}
		if kinds[it.PatientCF] == nil {
			kinds[it.PatientCF] = map[store.TaccuinoKind]int{}
		}
		kinds[it.PatientCF][it.Kind]++
		num := func(k string) float64 {
			v, err := strconv.ParseFloat(it.Fields[k], 64)
			if err != nil {
				t.Fatalf("%s %s: %q not a number", it.Fields["tipo"], k, it.Fields[k])
			}
			return v
		}
		switch it.Fields["tipo"] {
		case "pressione arteriosa":
			if s, d := num("sistolica"), num("diastolica"); s < 90 || s > 140 || d < 60 || d > 90 || d >= s {
				t.Errorf("blood pressure %v/%v", s, d)
			}
		case "glicemia":
			if g := num("valore"); g < 70 || g > 250 {
				t.Errorf("glucose %v", g)
			}
		case "peso":
			if w := num("valore"); w < 40 || w > 120 {
				t.Errorf("weight %v", w)
			}
		}
	}
	for _, cf := range []string{PatientA, PatientB} {
		for _, k := range store.TaccuinoKinds {
			if kinds[cf][k] == 0 {
				t.Errorf("patient %s has no %s", cf[:6], k)
			}
		}
	}
}

func TestLoadOnce(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if added, err := Load(s); err != nil || !added {
		t.Fatalf("first load: %v %v", added, err)
	}
	s.Close()
	s, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if added, err := Load(s); err != nil || added {
		t.Fatalf("second start loaded again: %v %v", added, err)
	}
	want := map[store.TaccuinoKind]int{}
	for _, it := range Items() {
		if it.PatientCF == PatientB {
			want[it.Kind]++
		}
	}
	got, err := s.TaccuinoCounts(PatientB)
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d stored, %d seeded", k, got[k], n)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sim.db")); err != nil {
		t.Fatal(err)
	}
}

func TestIDsUniqueAndStored(t *testing.T) {
	seen := map[string]bool{}
	for _, it := range Items() {
		if it.ID == "" || seen[it.ID] {
			t.Fatalf("id %q empty or repeated", it.ID)
		}
		seen[it.ID] = true
	}
	s, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Load(s); err != nil {
		t.Fatal(err)
	}
	_, page, err := s.TaccuinoItems(store.TaccuinoQuery{PatientCF: PatientA, Kind: store.KindFarmaci})
	if err != nil || len(page) != 1 || !seen[page[0].ID] {
		t.Fatalf("stored item lost its seed id: %+v %v", page, err)
	}
}
