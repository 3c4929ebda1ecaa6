package oidcrp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/rosterhq/roster/sso/connector"
)

// maxUserInfo caps the userinfo body we read.
const maxUserInfo = 1 << 20

// userInfo fetches the userinfo endpoint with the login's access token.
// Its "sub" must be the ID token's (OIDC Core 5.3.2): a different one
// means the access token is not this person's. go-oidc's own UserInfo is
// not used because it fails on an email_verified that is neither a bool
// nor "true"/"false" (null, say) and checks nothing of a signed answer but
// its signature.
func (rp *RP) userInfo(ctx context.Context, p *provider, accessToken, subject string) (map[string]any, error) {
	if accessToken == "" {
		return nil, connector.Fail("userinfo", publicInvalid, errors.New("oidc: token response without access_token"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.meta.UserinfoEndpoint, nil)
	if err != nil {
		return nil, connector.Fail("userinfo", publicUnavailable, fmt.Errorf("oidc: userinfo request: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json, application/jwt")
	resp, err := rp.client.Do(req)
	if err != nil {
		return nil, connector.Fail("userinfo", publicUnavailable, fmt.Errorf("oidc: userinfo: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUserInfo+1))
	if err != nil {
		return nil, connector.Fail("userinfo", publicUnavailable, fmt.Errorf("oidc: userinfo: %w", err))
	}
	if len(body) > maxUserInfo {
		return nil, connector.Fail("userinfo", publicInvalid, errors.New("oidc: userinfo answer too large"))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, connector.Fail("userinfo", publicUnavailable, fmt.Errorf("oidc: userinfo answered %s: %s", resp.Status, truncate(string(body), 300)))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/jwt" {
		body, err = rp.verifySignedUserInfo(ctx, p, string(body))
		if err != nil {
			return nil, err
		}
	}
	var info map[string]any
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, connector.Fail("userinfo", publicInvalid, fmt.Errorf("oidc: userinfo is not a JSON object: %w", err))
	}
	sub, _ := info["sub"].(string)
	if sub != subject {
		return nil, connector.Fail("userinfo_sub", publicInvalid,
			fmt.Errorf("oidc: userinfo sub %q is not the id token's %q", truncate(sub, 100), subject))
	}
	return info, nil
}

// verifySignedUserInfo checks a signed userinfo answer: an accepted
// algorithm, a key of the issuer, and (when present, OIDC Core 5.3.2) iss
// and aud naming the issuer and us.
func (rp *RP) verifySignedUserInfo(ctx context.Context, p *provider, raw string) ([]byte, error) {
	raw = strings.TrimSpace(raw)
	if err := checkJWSHeader(raw, p.algs); err != nil {
		return nil, err
	}
	payload, err := p.keys.VerifySignature(ctx, raw)
	if err != nil {
		return nil, connector.Fail("signature", publicInvalid, fmt.Errorf("oidc: signed userinfo: %w", err))
	}
	var c struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, connector.Fail("userinfo", publicInvalid, fmt.Errorf("oidc: signed userinfo: %w", err))
	}
	if c.Iss != "" && c.Iss != p.issuer {
		return nil, connector.Fail("issuer", publicInvalid, fmt.Errorf("oidc: signed userinfo from issuer %q", truncate(c.Iss, 200)))
	}
	if len(c.Aud) > 0 {
		var one string
		var many []string
		if json.Unmarshal(c.Aud, &one) == nil {
			many = []string{one}
		} else if json.Unmarshal(c.Aud, &many) != nil {
			return nil, connector.Fail("userinfo", publicInvalid, errors.New("oidc: signed userinfo aud is neither a string nor a list"))
		}
		if !slices.Contains(many, rp.clientID) {
			return nil, connector.Fail("audience", publicInvalid, errors.New("oidc: signed userinfo is for another client"))
		}
	}
	return payload, nil
}
