package adapter

import (
	"github.com/fsepuglia/fsepuglia/generated/consenso"
	"github.com/fsepuglia/fsepuglia/generated/taccuino"
)

// organizationID is Regione Puglia's organisation id.
const organizationID = "160"

// application formats the calling application for the requester block.
func (c *Client) application() string {
	a := c.cfg.Application
	if a.ID == "" {
		return ""
	}
	s := a.ID
	if a.Vendor != "" {
		s += "^" + a.Vendor
	}
	if a.Version != "" {
		s += "^" + a.Version
	}
	return s
}

// Each generated package declares its own RichiedenteType (one Go package per WSDL), so the
// requester block is built once per package from the same configuration. IDocumentService
// carries none: as observed for addDocument, who calls is in the SAML assertion only.

func (c *Client) consentRequester(activity string) *consenso.RichiedenteType {
	return &consenso.RichiedenteType{
		CodiceFiscale: consenso.CodiceFiscaleType(c.cfg.Operator.CF), Ruolo: c.cfg.Operator.Role,
		Struttura: c.cfg.Structure.Code, Organizzazione: organizationID, ContestoOperativo: "CONSENT",
		PresaInCarico: true, Attivita: activity, Applicazione: c.application(),
	}
}

func (c *Client) taccuinoRequester() *taccuino.RichiedenteType {
	return &taccuino.RichiedenteType{
		CodiceFiscale: taccuino.CodiceFiscaleType(c.cfg.Operator.CF), Ruolo: c.cfg.Operator.Role,
		Struttura: c.cfg.Structure.Code, Organizzazione: organizationID, ContestoOperativo: "TREATMENT",
		PresaInCarico: true, Attivita: "READ", Applicazione: c.application(),
	}
}
