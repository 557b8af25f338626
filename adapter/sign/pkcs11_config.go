package sign

import "errors"

// PKCS11Config names a signing key on a PKCS#11 token: the operator's smart card (Puglia
// gives every operator one, with an authentication and a signature certificate) or an HSM.
// PKCS#11 needs cgo: OpenPKCS11 works only in binaries built with `-tags pkcs11`.
type PKCS11Config struct {
	// Module is the path of the token's PKCS#11 library, e.g. the card vendor's
	// libbit4xpki.so, or /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel selects the token; empty means the first slot (Slot) or, with neither,
	// slot 0.
	TokenLabel string
	// Slot selects the token by slot number when TokenLabel is empty.
	Slot int
	// PIN is the user PIN: obtain it from a prompt or the environment, never a flag.
	PIN string
	// KeyLabel or KeyID (CKA_LABEL, CKA_ID) select the key pair and its certificate. With
	// neither, the token's only certificate is used, or its only signature (nonRepudiation)
	// certificate when it also holds an authentication one.
	KeyLabel string
	KeyID    []byte
}

// ErrPKCS11Unavailable is returned by OpenPKCS11 in binaries built without the pkcs11 tag.
var ErrPKCS11Unavailable = errors.New("sign: this fsepuglia was built without PKCS#11 support: rebuild it with `CGO_ENABLED=1 go build -tags pkcs11 ./cmd/fsepuglia` (needs a C compiler), or sign with a PKCS#12 file")
