package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// ErrIdentity is wrapped by the errors of StructureFromCN and OperatorCF.
var ErrIdentity = errors.New("pki: certificate identity not valid")

// StructureFromCN splits a client certificate CN of the form PartitaIva.Dominio.it into the
// VAT number (check digit verified) and the domain (at least one dot, no empty labels).
func StructureFromCN(cn string) (partitaIVA, domain string, err error) {
	piva, dom, ok := strings.Cut(cn, ".")
	if !ok || !ValidPartitaIVA(piva) {
		return "", "", fmt.Errorf("%w: CN must start with an 11-digit partita IVA with a valid check digit", ErrIdentity)
	}
	labels := strings.Split(dom, ".")
	if len(labels) < 2 {
		return "", "", fmt.Errorf("%w: CN must end with the structure's domain (e.g. example.it)", ErrIdentity)
	}
	for _, l := range labels {
		if l == "" {
			return "", "", fmt.Errorf("%w: empty label in the CN's domain", ErrIdentity)
		}
	}
	return piva, dom, nil
}

// OperatorCF returns the codice fiscale carried in the subject serialNumber of a signer
// certificate ("TINIT-<CF>", as on Italian CNS/smart cards), check letter verified.
func OperatorCF(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", fmt.Errorf("%w: no certificate", ErrIdentity)
	}
	cf, ok := strings.CutPrefix(cert.Subject.SerialNumber, "TINIT-")
	if !ok {
		return "", fmt.Errorf("%w: subject serialNumber is not TINIT-<CF>", ErrIdentity)
	}
	if !ValidCF(cf) {
		return "", fmt.Errorf("%w: the CF in serialNumber has an invalid check letter", ErrIdentity)
	}
	return cf, nil
}
