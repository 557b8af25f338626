package sim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter/sim/seed"
	"github.com/fsepuglia/fsepuglia/generated/consenso"
	"github.com/fsepuglia/fsepuglia/generated/taccuino"
)

var update = flag.Bool("update", false, "rewrite the golden files in fixtures/simwire")

// TestGoldenWire pins the bytes the simulator sends for deterministic answers (a detailed
// fault, the informativa, the Taccuino counts), so that a change of wire format shows up in
// review. Regenerate with `go test ./adapter/sim -run TestGoldenWire -update`.
func TestGoldenWire(t *testing.T) {
	h := startSim(t, nil)
	tests := []struct {
		name string
		get  func(t *testing.T) []byte
	}{
		{"fault-patient-mismatch.xml", func(t *testing.T) []byte {
			return FaultEnvelope(CodeInconsistent, "recordTarget patient differs from metadata patientId", "IDocument")
		}},
		{"recuperoInformativaResponse.xml", func(t *testing.T) []byte {
			_, body := h.call(ServiceConsenso, "recuperoInformativa", "", &consenso.RecuperoInformativa{}, nil)
			_, payload, err := bodyElement(body)
			if err != nil {
				t.Fatal(err)
			}
			return payload
		}},
		{"getTaccuinoResponse.xml", func(t *testing.T) []byte {
			_, body := h.call(ServiceTaccuino, "getTaccuino", seed.PatientA,
				&taccuino.GetTaccuino{Filtro: &taccuino.FiltroTaccuinoType{CodiceFiscalePaziente: seed.PatientA}}, nil)
			_, payload, err := bodyElement(body)
			if err != nil {
				t.Fatal(err)
			}
			return payload
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.get(t)
			path := filepath.Join("..", "..", "fixtures", "simwire", tc.name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from the golden file:\n got %.400s\nwant %.400s", tc.name, got, want)
			}
		})
	}
}
