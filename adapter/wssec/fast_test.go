package wssec

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/wssec/saml"
)

// TestTimestampC14N holds the Timestamp template equal to what etree canonicalises from the
// fragment the envelope carries.
func TestTimestampC14N(t *testing.T) {
	for _, id := range []string{PugliaTimestampID, "TS-0123456789abcdef"} {
		created, expires := "2026-11-23T10:00:00.000Z", "2026-11-23T10:05:00.000Z"
		frag := `<wsse:Security xmlns:wsse="` + NSWSSE + `" xmlns:wsu="` + NSWSU + `" xmlns:soapenv="` + NSSOAP11 + `" soapenv:mustUnderstand="1">` +
			`<wsu:Timestamp wsu:Id="` + id + `"><wsu:Created>` + created + `</wsu:Created><wsu:Expires>` + expires + `</wsu:Expires></wsu:Timestamp></wsse:Security>`
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
			want, err := digestFragment(frag, h)
			if err != nil {
				t.Fatal(err)
			}
			d := h.New()
			d.Write([]byte(timestampC14N(id, created, expires)))
			if got := d.Sum(nil); !bytes.Equal(got, want) {
				t.Errorf("%s %v: template digest differs from etree's c14n", id, h)
			}
		}
	}
}

// TestFastSignature holds fastSignature byte-equal to the etree path (PKCS#1 v1.5 is
// deterministic), for both prefixes and algorithms, and sends unsafe ids to the etree path.
func TestFastSignature(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	refs := []reference{{uri: "#TS-1", digest: bytes.Repeat([]byte{1}, 20)}, {uri: "#identity-assertion", digest: bytes.Repeat([]byte{2}, 20)}}
	for _, prefix := range []string{"", "ds"} {
		for _, alg := range []Algorithm{RSASHA1, RSASHA256} {
			want, err := signature(refs, PugliaTokenID, key, alg, prefix)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := fastSignature(refs, PugliaTokenID, key, alg, prefix)
			if err != nil || !ok {
				t.Fatalf("fastSignature: %v %v", ok, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("prefix %q %v:\n got %s\nwant %s", prefix, alg, got, want)
			}
		}
	}
	if _, ok, _ := fastSignature([]reference{{uri: `#a"b`}}, PugliaTokenID, key, RSASHA1, ""); ok {
		t.Error("an id needing escaping took the template path")
	}
}

// TestAssertionCache: the same attributes within half the validity reuse the assertion,
// other attributes or a later time build a new one; the cache stays bounded.
func TestAssertionCache(t *testing.T) {
	var c AssertionCache
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	k := assertionKey{attrs: saml.Attributes{PatientCF: "FSEPGL01E41A145J"}, issuer: "I", nameID: "N", hash: crypto.SHA1, ttl: 5 * time.Minute}
	c.put(k, cachedAssertion{xml: []byte("a"), issued: t0})
	if e, ok := c.get(k, t0.Add(2*time.Minute)); !ok || string(e.xml) != "a" {
		t.Error("not reused inside half its validity")
	}
	if _, ok := c.get(k, t0.Add(150*time.Second)); ok {
		t.Error("reused with half its validity gone")
	}
	if _, ok := c.get(k, t0.Add(-time.Second)); ok {
		t.Error("reused before it was issued (clock went back)")
	}
	k2 := k
	k2.attrs.PatientCF = "FSELBR01C41A145S"
	if _, ok := c.get(k2, t0); ok {
		t.Error("reused for another patient")
	}
	for i := range assertionCacheMax + 10 {
		k3 := k
		k3.nameID = string(rune('a'+i%26)) + time.Duration(i).String()
		c.put(k3, cachedAssertion{issued: t0})
	}
	if len(c.m) > assertionCacheMax {
		t.Errorf("cache holds %d entries", len(c.m))
	}
	var nilCache *AssertionCache
	nilCache.put(k, cachedAssertion{})
	if _, ok := nilCache.get(k, t0); ok {
		t.Error("nil cache returned an entry")
	}
}
