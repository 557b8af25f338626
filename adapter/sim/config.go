package sim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fsepuglia/fsepuglia/adapter/sim/middleware"
	"github.com/fsepuglia/fsepuglia/adapter/sim/pki"
)

// ClientConfigFile is the name of the client configuration Start writes in the data directory.
const ClientConfigFile = "client-config.json"

// The simulated calling structure written into the client configuration. Tests use
// StructureCode to tell the publisher of an obscured (P99) document from other structures.
const (
	StructureCode         = "160101"
	StructureName         = "Struttura di prova del simulatore"
	StructureRepositoryID = "2.16.840.1.113883.2.9.2.160.4.5.1"
	StructureFacilityType = "Ospedale"
	StructurePractice     = "AD_PSC001"
	OperatorRole          = "AAS"
)

// ClientConfig is the JSON form of adapter.Config that Start writes (the same keys: the
// adapter root package is not imported, so that it may import this one's users freely; a
// test decodes the file into adapter.Config).
type ClientConfig struct {
	Environment string `json:"environment"`
	ASL         string `json:"asl"`
	// BaseURLs holds the simulator's URL for the local environment only, so that a user who
	// exported this file and then asks for --env test or prod gets those hosts, not the
	// simulator's (a base_url would apply to whatever environment is chosen).
	BaseURLs    map[string]string `json:"base_urls"`
	TLS         ClientTLS         `json:"tls"`
	Signer      ClientSigner      `json:"signer"`
	Operator    ClientOperator    `json:"operator"`
	Structure   ClientStructure   `json:"structure"`
	Application ClientApplication `json:"application"`
	Gateway     ClientGateway     `json:"gateway"`
}

// ClientGateway is gateway.Config's middleware URL (the JWTs are signed with the TLS client
// certificate, whose CN is PartitaIva.Dominio.it, as in Puglia's model).
type ClientGateway struct {
	BaseURLs map[string]string `json:"base_urls"`
}

// ClientTLS is adapter.TLSConfig's file names.
type ClientTLS struct {
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	CAFile   string `json:"ca_file,omitempty"`
}

// ClientSigner is adapter.SignerConfig's file names.
type ClientSigner struct {
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
}

// ClientOperator is adapter.Operator.
type ClientOperator struct {
	CF   string `json:"cf"`
	Role string `json:"role"`
}

// ClientStructure is adapter.Structure.
type ClientStructure struct {
	Code            string `json:"code"`
	Name            string `json:"name"`
	RepositoryID    string `json:"repository_id"`
	FacilityType    string `json:"facility_type"`
	PracticeSetting string `json:"practice_setting"`
}

// ClientApplication is adapter.Application.
type ClientApplication struct {
	ID      string `json:"id"`
	Vendor  string `json:"vendor"`
	Version string `json:"version"`
}

// NewClientConfig returns the configuration that lets a client talk to a simulator at
// baseURL with the PKI p.
func NewClientConfig(baseURL string, p *pki.PKI, plainHTTP bool) (ClientConfig, error) {
	cf, err := pki.OperatorCF(p.Operator.Cert)
	if err != nil {
		return ClientConfig{}, fmt.Errorf("sim: operator certificate: %w", err)
	}
	c := ClientConfig{
		Environment: "local",
		ASL:         "aslba",
		BaseURLs:    map[string]string{"local": baseURL},
		Signer:      ClientSigner{CertFile: p.Operator.CertFile, KeyFile: p.Operator.KeyFile},
		Operator:    ClientOperator{CF: cf, Role: OperatorRole},
		Structure: ClientStructure{Code: StructureCode, Name: StructureName, RepositoryID: StructureRepositoryID,
			FacilityType: StructureFacilityType, PracticeSetting: StructurePractice},
		Application: ClientApplication{ID: "fsepuglia-sim-client", Vendor: "fsepuglia", Version: "dev"},
		Gateway:     ClientGateway{BaseURLs: map[string]string{"local": baseURL + middleware.PathPrefix}},
	}
	if !plainHTTP {
		c.TLS = ClientTLS{CertFile: p.Client.CertFile, KeyFile: p.Client.KeyFile, CAFile: filepath.Join(p.Dir, pki.FileCACert)}
	}
	return c, nil
}

// writeClientConfig writes <dir>/client-config.json atomically (mode 0600) and returns its path.
func writeClientConfig(dir, baseURL string, p *pki.PKI, plainHTTP bool) (string, error) {
	c, err := NewClientConfig(baseURL, p, plainHTTP)
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", fmt.Errorf("sim: client config: %w", err)
	}
	path := filepath.Join(dir, ClientConfigFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("sim: client config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("sim: client config: %w", err)
	}
	return path, nil
}
