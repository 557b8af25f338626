// Package roles holds the subject role codes an operator of the FSE acts under: the national
// list, which the FSE 2.0 gateway's JWT (subject_role, GWDOC §15.3.5) and the SAML assertion
// of the legacy services share, and the codes the Puglia consent services add. It is a leaf
// package so that the library, the gateway client and the simulators read one list.
package roles

import "slices"

// National are the subject_role codes of GWDOC §15.3.5.
var National = []string{"AAS", "APR", "PSS", "INF", "FAR", "DSA", "DAM", "OAM", "ASS", "TUT", "ING", "GEN", "NOR",
	"DRS", "RSA", "MRP", "INI", "DAP"}

// Puglia are the codes the Puglia services accept besides National: the consent operators.
var Puglia = []string{"OGC", "OPI"}

// Legacy returns the codes a SAML assertion for the Puglia services may carry: National, then
// Puglia.
func Legacy() []string { return slices.Concat(National, Puglia) }
