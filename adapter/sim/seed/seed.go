// Package seed loads the simulator's synthetic Taccuino data for the published test
// patients on first start. Everything is invented and deterministic: fixed dates, values
// from simple formulas, no real person's data.
package seed

import (
	"fmt"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
)

// The published test identities the data belongs to (domain.md §8).
const (
	PatientA = "FSEPGL01E41A145J"
	PatientB = "FSELBR01C41A145S"
)

// Marker is the store marker that makes Load idempotent. Changing the data means a new
// marker version.
const Marker = "seed/taccuino/v1"

// Start is the first day of the synthetic data (Europe/Rome is not needed: all times UTC).
var Start = time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)

func at(day, hour int) time.Time {
	return Start.AddDate(0, 0, day).Add(time.Duration(hour) * time.Hour)
}

func item(cf string, k store.TaccuinoKind, day, hour int, kv ...string) store.TaccuinoItem {
	f := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	return store.TaccuinoItem{PatientCF: cf, Kind: k, Date: at(day, hour), Fields: f}
}

// Items returns the synthetic Taccuino. Patient A: weekly blood pressure and weight, a
// seasonal antihistamine, two events, one symptom, one personal document. Patient B (a
// type 1 diabetic in the story): glucose twice a day for four weeks, monthly weight,
// insulin, events, symptoms, one personal document.
func Items() []store.TaccuinoItem {
	var out []store.TaccuinoItem
	a, b := PatientA, PatientB
	for w := 0; w < 12; w++ {
		sys, dia := 112+(w*7)%11, 70+(w*5)%9
		out = append(out,
			item(a, store.KindRilevazioni, 7*w, 0, "tipo", "pressione arteriosa",
				"sistolica", fmt.Sprint(sys), "diastolica", fmt.Sprint(dia), "unita", "mm[Hg]", "loinc", "85354-9"),
			item(a, store.KindRilevazioni, 7*w, 1, "tipo", "peso",
				"valore", fmt.Sprintf("%.1f", 61.0+float64((w*3)%5)/10), "unita", "kg", "loinc", "29463-7"))
	}
	out = append(out,
		item(a, store.KindFarmaci, 60, 0, "nome", "Cetirizina 10 mg compresse", "atc", "R06AE07",
			"posologia", "1 compressa la sera", "dal", at(60, 0).Format(time.DateOnly), "al", at(90, 0).Format(time.DateOnly)),
		item(a, store.KindEventi, 14, 2, "tipo", "visita", "descrizione", "Visita dermatologica di controllo"),
		item(a, store.KindEventi, 45, 1, "tipo", "vaccinazione", "descrizione", "Richiamo antitetanico"),
		item(a, store.KindSintomi, 58, 4, "sintomo", "Rinite", "intensita", "lieve", "note", "al risveglio"),
		item(a, store.KindDocumentiPersonali, 20, 3, "titolo", "Certificato di idoneita' sportiva",
			"tipo", "certificato", "mimeType", "application/pdf", "nomeFile", "idoneita-sportiva.pdf"),
	)
	for d := 0; d < 28; d++ {
		out = append(out,
			item(b, store.KindRilevazioni, d, 0, "tipo", "glicemia", "momento", "a digiuno",
				"valore", fmt.Sprint(92+(d*13)%37), "unita", "mg/dL", "loinc", "1558-6"),
			item(b, store.KindRilevazioni, d, 11, "tipo", "glicemia", "momento", "dopo cena",
				"valore", fmt.Sprint(128+(d*17)%51), "unita", "mg/dL", "loinc", "2345-7"))
	}
	for m := 0; m < 3; m++ {
		out = append(out, item(b, store.KindRilevazioni, 30*m, 1, "tipo", "peso",
			"valore", fmt.Sprintf("%.1f", 57.4-0.3*float64(m)), "unita", "kg", "loinc", "29463-7"))
	}
	out = append(out,
		item(b, store.KindFarmaci, 0, 0, "nome", "Insulina glargine 100 U/ml", "atc", "A10AE04",
			"posologia", "14 U la sera", "dal", at(0, 0).Format(time.DateOnly)),
		item(b, store.KindFarmaci, 0, 1, "nome", "Insulina lispro 100 U/ml", "atc", "A10AB04",
			"posologia", "secondo schema ai pasti", "dal", at(0, 0).Format(time.DateOnly)),
		item(b, store.KindEventi, 10, 2, "tipo", "visita", "descrizione", "Controllo diabetologico trimestrale"),
		item(b, store.KindEventi, 40, 2, "tipo", "esame", "descrizione", "Emoglobina glicata"),
		item(b, store.KindSintomi, 12, 7, "sintomo", "Ipoglicemia", "intensita", "moderata", "note", "risolta con zuccheri"),
		item(b, store.KindSintomi, 33, 3, "sintomo", "Cefalea", "intensita", "lieve"),
		item(b, store.KindDocumentiPersonali, 41, 3, "titolo", "Diario glicemico gennaio",
			"tipo", "diario", "mimeType", "application/pdf", "nomeFile", "diario-glicemico.pdf"),
	)
	for i := range out {
		out[i].ID = fmt.Sprintf("seed-%03d", i+1)
	}
	return out
}

// Load adds Items to s the first time it runs on a data directory; later calls do nothing
// and return false.
func Load(s *store.Store) (bool, error) {
	added, err := s.AddTaccuinoItems(Marker, Items())
	if err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	return added, nil
}
