package cli

import (
	"github.com/onexhost/onex/archcheck"
	"github.com/onexhost/onex/config"
	"github.com/onexhost/onex/diag"
	"github.com/onexhost/onex/policy"
	"github.com/onexhost/onex/validate"
)

// registrationValidators returns the registration-time validators that run over
// the resolved descriptor set, before any handler is constructed (security
// registration rules, startup architecture rules), for a host configured by f in
// the environment env. Configuration errors of the sections they read are added
// to r. `onex validate` and the host share this list.
func registrationValidators(f *config.File, env policy.Environment, r *diag.Report) []validate.Validator {
	_, _ = f, r
	return []validate.Validator{
		env.Registration(),  // SECURITY-300..309, SECURITY-311 for config secret references
		archcheck.Startup(), // ARCH-005, ARCH-006: descriptors against their factories
	}
}
