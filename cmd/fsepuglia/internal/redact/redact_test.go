package redact

import (
	"errors"
	"strings"
	"testing"
)

func TestCF(t *testing.T) {
	tests := []struct{ in, want string }{
		{"FSEPGL01E41A145J", "FSE**********45J"},
		{"PROVAX00X00X000Y", "PRO**********00Y"},
		{"STP1234567890123", "STP**********123"},
		{"ABC", "***"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := CF(tt.in)
			if got != tt.want {
				t.Fatalf("CF(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) != len(tt.in) {
				t.Fatalf("length changed: %d -> %d", len(tt.in), len(got))
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name, in string
		leaks    []string // substrings that must not survive
		keeps    []string
	}{
		{"fault message", "FSE-00451 - consenso C2 mancante per FSEPGL01E41A145J", []string{"FSEPGL01E41A145J", "PGL01E41A1"}, []string{"FSE-00451", "FSE**********45J"}},
		{"two codes and lower case", "patient fselbr01c41a145s operator PROVAX00X00X000Y", []string{"fselbr01c41a145s", "PROVAX00X00X000Y"}, []string{"operator"}},
		{"omocodia", "RSSMRA85T10A56PS here", []string{"RSSMRA85T10A56PS"}, []string{"here"}},
		{"temporary code", "STP1234567890123", []string{"1234567890"}, nil},
		{"not a CF: uniqueId", "2.16.840.1.113883.2.9.2.160.4.4^ABC123", nil, []string{"2.16.840.1.113883.2.9.2.160.4.4^ABC123"}},
		{"not a CF: 17 letters word", "ABCDEFGHIJKLMNOPQ", nil, []string{"ABCDEFGHIJKLMNOPQ"}},
		{"file name with underscore", "FSEPGL01E41A145J_referto.pdf", []string{"FSEPGL01E41A145J"}, []string{"FSE**********45J_referto.pdf"}},
		{"inside a document id", "2.16.840.1.113883.2.9.2.120.4.4^030702.TSTSMN63A01F205H.20220325", []string{"TSTSMN63A01F205H"}, []string{"^030702.TST**********05H.20220325"}},
		{"adjacent codes", "FSEPGL01E41A145J FSELBR01C41A145S", []string{"FSEPGL01E41A145J", "FSELBR01C41A145S"}, []string{"FSE**********45J FSE**********45S"}},
		{"at the very end", "x=FSELBR01C41A145S", []string{"FSELBR01C41A145S"}, nil},
		{"inside a run of letters", "XFSEPGL01E41A145J", []string{"FSEPGL01E41A145J"}, []string{"XFSE"}},
		{"in a uniqueId glued to digits", "ID.FSEPGL01E41A145J0001", []string{"FSEPGL01E41A145J"}, []string{"ID.FSE**********45J0001"}},
		{"between underscores", "X_FSEPGL01E41A145J_3", []string{"FSEPGL01E41A145J"}, []string{"X_FSE**********45J_3"}},
		{"date glued before", "20260101FSEPGL01E41A145J", []string{"FSEPGL01E41A145J"}, nil},
		{"glued to digits", "20260101FSEPGL01E41A145J2026.pdf", []string{"FSEPGL01E41A145J"}, []string{"20260101FSE**********45J2026.pdf"}},
		{"Italian text is left alone", "Consultazione negata per assenza di consenso", nil, []string{"Consultazione negata per assenza di consenso"}},
		{"service names are not CFs", "actor IGestoreConsenso, service ITaccuinoService", nil, []string{"IGestoreConsenso", "ITaccuinoService"}},
		{"the published placeholder identity", "PROVAX00X00X000Y", []string{"PROVAX00X00X000Y"}, nil},
		{"lower case", "fsepgl01e41a145j", []string{"fsepgl01e41a145j"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Text(tt.in)
			for _, l := range tt.leaks {
				if strings.Contains(got, l) {
					t.Errorf("Text(%q) = %q leaks %q", tt.in, got, l)
				}
			}
			for _, k := range tt.keeps {
				if !strings.Contains(got, k) {
					t.Errorf("Text(%q) = %q lost %q", tt.in, got, k)
				}
			}
		})
	}
}

func TestValue(t *testing.T) {
	if got := Value(errors.New("x FSEPGL01E41A145J")); got != "x FSE**********45J" {
		t.Fatalf("error value: %v", got)
	}
	if got := Value(42); got != 42 {
		t.Fatalf("int changed: %v", got)
	}
	if got := Value([]string{"FSELBR01C41A145S"}).([]string); got[0] != "FSE**********45S" {
		t.Fatalf("slice: %v", got)
	}
}
