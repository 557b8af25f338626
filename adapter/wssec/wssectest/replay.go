package wssectest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/fsepuglia/fsepuglia/adapter/wssec"
)

// Replay fills and signs a request template reconstructed from public traffic
// (fixtures/observed/*.request.xml): it substitutes the {{NAME}} placeholders of vars plus
// {{CREATED}}, {{EXPIRES}}, {{ISSUE_INSTANT}} (from now) and {{BST}} (the signer's
// certificate), then computes every Reference of the template's wsse:Security Signature
// (exclusive c14n in the element's context, the digest the Reference names) and the
// SignatureValue with the template's SignatureMethod. The template's shape (prefixes,
// whitespace, attribute order) is kept as written: the result is what a client shaped like
// the public trace would send, signed with our test key.
func Replay(template []byte, s wssec.Signer, now time.Time, vars map[string]string) ([]byte, error) {
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		rome = time.UTC
	}
	all := map[string]string{
		"CREATED":       now.UTC().Format("2006-01-02T15:04:05.000Z"),
		"EXPIRES":       now.Add(5 * time.Minute).UTC().Format("2006-01-02T15:04:05.000Z"),
		"ISSUE_INSTANT": now.In(rome).Format("2006-01-02T15:04:05.000-07:00"),
		"BST":           base64.StdEncoding.EncodeToString(s.Cert.Raw),
	}
	for k, v := range vars {
		all[k] = v
	}
	filled := string(template)
	for k, v := range all {
		filled = strings.ReplaceAll(filled, "{{"+k+"}}", v)
	}
	if i := strings.Index(filled, "{{"); i >= 0 {
		return nil, fmt.Errorf("wssectest: placeholder left in the template: %.30s", filled[i:])
	}
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalText = false
	if err := doc.ReadFromString(filled); err != nil {
		return nil, err
	}
	sig := doc.FindElement("//Security/Signature")
	if sig == nil {
		return nil, errors.New("wssectest: no Security/Signature in the template")
	}
	si := sig.SelectElement("SignedInfo")
	if si == nil {
		return nil, errors.New("wssectest: no SignedInfo")
	}
	ids := map[string]*etree.Element{}
	for _, el := range doc.FindElements("//*") {
		for _, a := range el.Attr {
			if a.Key == "Id" || a.Key == "ID" {
				ids[a.Value] = el
			}
		}
	}
	for _, ref := range si.SelectElements("Reference") {
		uri := strings.TrimPrefix(ref.SelectAttrValue("URI", ""), "#")
		el := ids[uri]
		if el == nil {
			return nil, fmt.Errorf("wssectest: reference #%s resolves to nothing", uri)
		}
		h := hashOf(ref.SelectElement("DigestMethod").SelectAttrValue("Algorithm", ""))
		c, err := excC14N(el)
		if err != nil {
			return nil, err
		}
		d := h.New()
		d.Write(c)
		ref.SelectElement("DigestValue").SetText(base64.StdEncoding.EncodeToString(d.Sum(nil)))
	}
	c, err := excC14N(si)
	if err != nil {
		return nil, err
	}
	h := hashOf(si.SelectElement("SignatureMethod").SelectAttrValue("Algorithm", ""))
	d := h.New()
	d.Write(c)
	raw, err := s.Key.Sign(rand.Reader, d.Sum(nil), h)
	if err != nil {
		return nil, err
	}
	sig.SelectElement("SignatureValue").SetText(base64.StdEncoding.EncodeToString(raw))
	var out bytes.Buffer
	if _, err := doc.WriteTo(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func hashOf(alg string) crypto.Hash {
	if strings.HasSuffix(alg, "sha1") {
		return crypto.SHA1
	}
	return crypto.SHA256
}

// excC14N is the exclusive canonical form of el in its document's namespace context.
func excC14N(el *etree.Element) ([]byte, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, err
	}
	if err := etreeutils.TransformExcC14n(det, "", false); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.SetRoot(det)
	doc.WriteSettings = etree.WriteSettings{CanonicalAttrVal: true, CanonicalEndTags: true, CanonicalText: true}
	return doc.WriteToBytes()
}
