package metrics

// loginKinds, loginOutcomes and loginReasons bound the labels of
// roster_sso_logins_total: a value outside them counts as "other", so a
// new failure reason can never create series without a change here.
var (
	loginKinds    = set("saml", "oidc", "password")
	loginOutcomes = set("success", "failure", "denied", "error")
	// loginReasons are the sso/connector LoginError reasons (SAML SP, OIDC
	// RP) and the outcomes of deciding who an identity is.
	loginReasons = set(
		// protocol and token checks (sso/samlsp, sso/oidcrp)
		"malformed", "signature", "unsigned", "weak_algorithm", "alg", "decrypt",
		"issuer", "audience", "azp", "nonce", "at_hash", "state", "status",
		"expired", "not_yet_valid", "replayed", "recipient", "destination",
		"in_response_to", "idp_initiated", "idp_error", "exchange", "userinfo",
		"userinfo_sub", "jwks", "discovery", "browser", "browser_mismatch",
		"config", "connection", "store", "internal",
		// who the identity is and whether they may come in (provisioning)
		"not_provisioned", "member_inactive", "seat_limit_reached", "sso_required",
		"unauthenticated", "rate_limited", "too_many_attempts", "invalid_code",
		"forbidden", "not_found", "invalid_value", "unavailable", "internal_error",
		"error",
	)
)

func set(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func bounded(v string, allowed map[string]bool) string {
	if allowed[v] {
		return v
	}
	return "other"
}

// ObserveLogin counts one login attempt: kind is "saml", "oidc" or
// "password"; outcome "success" or "failure" (also "denied", "error");
// reason the failure's short label (sso/connector.ReasonOf), "" on
// success. It has the shape of the SSO bridge's Options.Observe.
func (r *Registry) ObserveLogin(kind, outcome, reason string) {
	if reason == "" {
		reason = "none"
	} else {
		reason = bounded(reason, loginReasons)
	}
	r.ssoLogins.WithLabelValues(bounded(kind, loginKinds), bounded(outcome, loginOutcomes), reason).Inc()
}
