package gateway

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestDecodeJWTRedactsInsideCertificate: a certificate whose base64 holds a CF-shaped run
// (random keys do, now and then) must still give a readable, redacted header.
func TestDecodeJWTRedactsInsideCertificate(t *testing.T) {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	header := enc(map[string]any{"alg": "RS256", "x5c": []string{"MIIB" + "FSEPGL01E41A145J" + "AQAB"}})
	claims := enc(map[string]any{"sub": "fsepgl01e41a145j^^^&2.16.840.1.113883.2.9.4.3.2&ISO"})
	got := decodeJWT(header+"."+claims+".sig", false)
	var out struct{ Header, Claims map[string]any }
	if err := json.Unmarshal(got, &out); err != nil || out.Header == nil || out.Claims == nil {
		t.Fatalf("decoded %s (%v)", got, err)
	}
	if s := string(got); strings.Contains(strings.ToUpper(s), "FSEPGL01E41A145J") || strings.Contains(s, "MIIB") {
		t.Fatalf("redacted JWT keeps a CF or the certificate: %s", s)
	}
}
