package xades_test

import (
	"fmt"
	"log"

	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
	"github.com/fsepuglia/fsepuglia/adapter/sign/signtest"
	"github.com/fsepuglia/fsepuglia/adapter/xades"
)

// Sign a CDA with a XAdES-BES enveloped signature and verify it, trusting the signer's CA.
func Example() {
	ca, err := signtest.NewCA("example CA")
	if err != nil {
		log.Fatal(err)
	}
	signer, err := ca.Issue(signtest.LeafOptions{Key: signtest.ECDSAP256})
	if err != nil {
		log.Fatal(err)
	}
	signed, err := xades.Sign(pdfcdatest.CDA{}.Bytes(), signer, xades.SignOptions{})
	if err != nil {
		log.Fatal(err)
	}
	r, err := xades.Verify(signed, sign.VerifyOptions{Roots: ca.Pool()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Format, r.Algorithm, "valid:", r.Valid, "trusted:", r.Trusted, "signer:", r.SignerCF)
	// Output: XAdES-BES ECDSA-SHA256 valid: true trusted: true signer: PROVAX00X00X000Y
}
