package adminapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

// Token statuses.
const (
	tokenActive  = "active"
	tokenExpired = "expired"
	tokenRevoked = "revoked"
)

// Token is a bearer credential's record; its secret is never shown again.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	MemberID   string     `json:"memberId,omitempty" doc:"the member an API token acts as; absent for SCIM tokens"`
	Status     string     `json:"status" enum:"active,expired,revoked"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty" doc:"absent: never expires"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty" doc:"last authentication, to the minute; absent when never used"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

// IssuedToken is a token just minted, with its secret, shown this once.
type IssuedToken struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	MemberID  string     `json:"memberId,omitempty"`
	Status    string     `json:"status" enum:"active"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// Token is the secret: shown once, stored only as a hash.
	Token string `json:"token" doc:"the secret, shown once and stored only as a hash: copy it now"`
}

// TokenRequest mints a token.
type TokenRequest struct {
	Name      string     `json:"name" api:"required" doc:"1 to 100 characters, to recognise the token in lists"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty" doc:"when the token stops working; absent: never"`
}

// timePtr returns &t, or nil for the zero time.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// toToken renders a token record as of now.
func toToken(t repository.Token, now time.Time) Token {
	status := tokenActive
	switch {
	case !t.RevokedAt.IsZero():
		status = tokenRevoked
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		status = tokenExpired
	}
	return Token{ID: t.ID, Name: t.Name, MemberID: t.MemberID, Status: status, CreatedAt: t.CreatedAt,
		ExpiresAt: timePtr(t.ExpiresAt), LastUsedAt: timePtr(t.LastUsedAt), RevokedAt: timePtr(t.RevokedAt)}
}

// tokenRoutes serves the tokens of one kind.
type tokenRoutes struct {
	a    *API
	kind string
}

func (tr tokenRoutes) list(c *gin.Context, cl *call) (*reply, error) {
	toks, err := tr.a.svc.ListTokens(c.Request.Context(), cl.AccountID, tr.kind)
	if err != nil {
		return nil, err
	}
	now := tr.a.opts.Now()
	out := List[Token]{Items: make([]Token, 0, len(toks))}
	for _, t := range toks {
		out.Items = append(out.Items, toToken(t, now))
	}
	return ok(out), nil
}

// mint issues a token. An API token always belongs to the caller: a token
// minted for someone else would let its minter act as them (as the owner,
// say), so the body has no member to name.
func (tr tokenRoutes) mint(c *gin.Context, cl *call) (*reply, error) {
	var in TokenRequest
	if _, err := tr.a.decode(c, &in, Token{}); err != nil {
		return nil, err
	}
	ti := provisioning.TokenInput{Kind: tr.kind, Name: in.Name}
	if in.ExpiresAt != nil {
		ti.ExpiresAt = *in.ExpiresAt
	}
	if tr.kind == repository.TokenAPI {
		ti.MemberID = cl.MemberID
	}
	plain, t, err := tr.a.svc.IssueToken(c.Request.Context(), cl.actor(), cl.AccountID, ti)
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusCreated, noStore: true, location: c.Request.URL.Path + "/" + t.ID,
		body: IssuedToken{ID: t.ID, Name: t.Name, MemberID: t.MemberID, Status: tokenActive,
			CreatedAt: t.CreatedAt, ExpiresAt: timePtr(t.ExpiresAt), Token: plain}}, nil
}

func (tr tokenRoutes) revoke(c *gin.Context, cl *call) (*reply, error) {
	id := c.Param("id")
	if _, err := tr.a.svc.RevokeToken(c.Request.Context(), cl.actor(), cl.AccountID, tr.kind, id); err != nil {
		return nil, notFound(err, tr.kind+" token", id)
	}
	return noContent(), nil
}
