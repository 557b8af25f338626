package pades_test

import (
	"fmt"
	"log"

	"github.com/fsepuglia/fsepuglia/adapter/pades"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sign/signtest"
)

// Sign a PDF (PAdES B-B, incremental update) and verify its signature.
func Example() {
	ca, err := signtest.NewCA("example CA")
	if err != nil {
		log.Fatal(err)
	}
	signer, err := ca.Issue(signtest.LeafOptions{Key: signtest.ECDSAP256})
	if err != nil {
		log.Fatal(err)
	}
	pdf := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes()}.Bytes()
	signed, err := pades.SignBytes(pdf, signer, pades.SignOptions{Reason: "Referto"})
	if err != nil {
		log.Fatal(err)
	}
	sigs, err := pades.Verify(signed, sign.VerifyOptions{Roots: ca.Pool()})
	if err != nil {
		log.Fatal(err)
	}
	s := sigs[0]
	fmt.Println(s.Format, s.Algorithm, "valid:", s.Valid, "trusted:", s.Trusted, "whole file:", s.CoversWholeFile, "intact:", pades.Intact(sigs))
	// Output: PAdES ECDSA-SHA256 valid: true trusted: true whole file: true intact: true
}
