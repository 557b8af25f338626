//go:build pkcs11

package sign

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ThalesGroup/crypto11"
)

// OpenPKCS11 logs in to the token c names and returns a Signer for the selected key pair
// and its certificate (both must be on the token, with the same CKA_ID), and a Closer that
// logs out. The key never leaves the token: crypto11 asks it to sign each digest.
func OpenPKCS11(c PKCS11Config) (Signer, io.Closer, error) {
	if c.Module == "" {
		return nil, nil, errors.New("sign: pkcs11: no module: give the path of the token's PKCS#11 library")
	}
	cfg := &crypto11.Config{Path: c.Module, TokenLabel: c.TokenLabel, Pin: c.PIN, MaxSessions: 2}
	if c.TokenLabel == "" {
		slot := c.Slot
		cfg.SlotNumber = &slot
	}
	ctx, err := crypto11.Configure(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("sign: pkcs11: opening %s: %w (check the module path, the token label and the PIN)", c.Module, err)
	}
	s, err := find(ctx, c)
	if err != nil {
		ctx.Close()
		return nil, nil, err
	}
	return s, ctx, nil
}

func find(ctx *crypto11.Context, c PKCS11Config) (Signer, error) {
	var id, label []byte
	if len(c.KeyID) > 0 {
		id = c.KeyID
	}
	if c.KeyLabel != "" {
		label = []byte(c.KeyLabel)
	}
	if id == nil && label == nil {
		pairs, err := ctx.FindAllPairedCertificates()
		if err != nil {
			return nil, fmt.Errorf("sign: pkcs11: listing the token's certificates: %w", err)
		}
		var pick []int
		for i, p := range pairs {
			if len(pairs) == 1 || p.Leaf.KeyUsage&x509.KeyUsageContentCommitment != 0 {
				pick = append(pick, i)
			}
		}
		if len(pick) != 1 {
			var names []string
			for _, p := range pairs {
				names = append(names, fmt.Sprintf("%q", p.Leaf.Subject.CommonName))
			}
			return nil, fmt.Errorf("sign: pkcs11: %d key pairs with a certificate on the token (%s): choose one with the key label or id", len(pairs), strings.Join(names, ", "))
		}
		p := pairs[pick[0]]
		signer, ok := p.PrivateKey.(crypto11.Signer)
		if !ok {
			return nil, ErrUnsupportedKey
		}
		return New(signer, p.Leaf)
	}
	key, err := ctx.FindKeyPair(id, label)
	if err != nil {
		return nil, fmt.Errorf("sign: pkcs11: finding the key: %w", err)
	}
	if key == nil {
		return nil, fmt.Errorf("sign: pkcs11: no key pair with label %q / id %x on the token", c.KeyLabel, c.KeyID)
	}
	cert, err := ctx.FindCertificate(id, label, nil)
	if err != nil {
		return nil, fmt.Errorf("sign: pkcs11: finding the certificate: %w", err)
	}
	if cert == nil {
		return nil, fmt.Errorf("sign: pkcs11: the key %q has no certificate on the token (store it with the same CKA_ID)", c.KeyLabel)
	}
	return New(key, cert)
}
