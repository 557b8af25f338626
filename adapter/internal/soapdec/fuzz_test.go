package soapdec

import (
	"testing"

	"github.com/fsepuglia/fsepuglia/generated/consenso"
	"github.com/fsepuglia/fsepuglia/generated/document"
	"github.com/fsepuglia/fsepuglia/generated/taccuino"
)

// FuzzDecode holds soapdec to encoding/xml on any input: no panic; whatever soapdec reads,
// encoding/xml reads the same (values and fault); whatever encoding/xml reads, soapdec
// reads too unless it refuses it (RefusedError: a DTD, a limit…). CI runs it for 10 s.
func FuzzDecode(f *testing.F) {
	for _, doc := range fixtureAnswers(f) {
		if len(doc) < 20000 {
			f.Add(doc)
		}
	}
	f.Add([]byte(`<s:Envelope xmlns:s="` + NS + `"><s:Body><a:searchDocumentsResponse xmlns:a="http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/"><a:total> 3 </a:total><a:metadata><a:size>&#x31;2</a:size><a:creationTime>2026-01-02T03:04:05</a:creationTime><a:title><![CDATA[<b>]]>&amp;<!--x-->t</a:title></a:metadata></a:searchDocumentsResponse></s:Body></s:Envelope>`))
	f.Add([]byte(`<s:Envelope xmlns:s="` + NS + `"><s:Body><root xmlns="urn:t" xmlns:x="urn:t" id="a&amp;" x:b="1" n=" 7 " xml:lang="it" when="2026-01-02T03:04:05Z"><item unit="kg">1<x/>2<![CDATA[3]]></item><num code="c">42</num></root></s:Body></s:Envelope>`))
	f.Fuzz(fuzzOne)
}

var fuzzTypes = []func() any{
	func() any { return new(document.SearchDocumentsResponse) },
	func() any { return new(document.RetrieveDocumentResponse) },
	func() any { return new(consenso.StatoConsensiResponse) },
	func() any { return new(taccuino.GetFarmaciResponse) },
	func() any { return new(testRoot) }, // attributes and character data
}

// fuzzOne is one input of FuzzDecode.
func fuzzOne(t *testing.T, doc []byte) {
	for _, mk := range fuzzTypes {
		same(t, "fuzz", doc, mk)
	}
}
