package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// baseline is a bare gin server on loopback that answers the SCIM routes
// the driver uses with canned bodies: no auth, no parsing, no store. The
// same load against it shows what the HTTP stack, the client and the
// machine cost, so Roster's numbers can be read as a ratio.
type baseline struct {
	srv       *http.Server
	url       string
	done      chan error
	responses atomic.Pointer[map[string]capturedResponse]
}

// Routes the baseline serves, keyed like captured responses.
var baselineRoutes = []string{"GET /Users", "POST /Users", "GET /Groups", "POST /Groups", "PATCH /Groups"}

// startBaseline listens on 127.0.0.1 with a free port and serves until
// stop. gin must be in release mode already if debug output is unwanted.
func startBaseline() (*baseline, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("baseline listen: %w", err)
	}
	b := &baseline{done: make(chan error, 1)}
	b.install(defaultResponses(true))
	engine := gin.New()
	scim := engine.Group("/scim/v2")
	scim.GET("/Users", b.serve("GET /Users"))
	scim.POST("/Users", b.serve("POST /Users"))
	scim.GET("/Groups", b.serve("GET /Groups"))
	scim.POST("/Groups", b.serve("POST /Groups"))
	scim.PATCH("/Groups/:id", b.serve("PATCH /Groups"))
	b.srv = &http.Server{Handler: engine, ReadHeaderTimeout: 10 * time.Second}
	b.url = "http://" + ln.Addr().String() + "/scim/v2"
	go func() { b.done <- b.srv.Serve(ln) }()
	return b, nil
}

func (b *baseline) serve(route string) gin.HandlerFunc {
	return func(c *gin.Context) {
		// Read the request body like a real handler must.
		_, _ = io.Copy(io.Discard, c.Request.Body)
		r := (*b.responses.Load())[route]
		if len(r.Body) == 0 {
			c.Status(r.Status)
			return
		}
		c.Data(r.Status, r.ContentType, r.Body)
	}
}

// install replaces the canned responses; safe while serving.
func (b *baseline) install(m map[string]capturedResponse) {
	b.responses.Store(&m)
}

// installFrom answers like Roster did in phase rp: for each route, the
// response of the outcome (found, not found, plain success or error)
// Roster returned most often in that phase. Routes Roster never answered
// keep the defaults.
func (b *baseline) installFrom(rp *phase) {
	if rp == nil || rp.captures == nil {
		b.install(defaultResponses(true))
		return
	}
	c := rp.captures
	m := defaultResponses(c.count("GET /Users hit") >= c.count("GET /Users miss"))
	for _, route := range baselineRoutes {
		best := 0
		for _, outcome := range []string{" hit", " miss", "", " error"} {
			if n := c.count(route + outcome); n > best {
				if r, ok := c.get(route + outcome); ok {
					m[route], best = r, n
				}
			}
		}
	}
	b.install(m)
}

func (b *baseline) stop(ctx context.Context) error {
	if err := b.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("baseline shutdown: %w", err)
	}
	if err := <-b.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("baseline serve: %w", err)
	}
	return nil
}

// defaultResponses are used before anything was captured (and in tests):
// plausible SCIM bodies of a realistic size. userHit chooses whether a
// userName filter finds one user or none.
func defaultResponses(userHit bool) map[string]capturedResponse {
	user := `{"schemas":["` + schemaUser + `","` + schemaEnterprise + `"],` +
		`"id":"0190f3c2-7a4e-7b1c-9d2e-3f4a5b6c7d8e","externalId":"5b1c0a9e-0000-4000-8000-000000000001",` +
		`"userName":"ada.lovelace.load0000001@contoso.example","active":true,"displayName":"Ada Lovelace",` +
		`"name":{"formatted":"Ada Lovelace","familyName":"Lovelace","givenName":"Ada"},` +
		`"emails":[{"primary":true,"type":"work","value":"ada.lovelace.load0000001@contoso.example"}],` +
		`"` + schemaEnterprise + `":{"employeeNumber":"E0000001","department":"Customer Support"},` +
		`"meta":{"resourceType":"User","created":"2026-01-01T00:00:00Z","lastModified":"2026-01-01T00:00:00Z",` +
		`"version":"W/\"1\"","location":"/scim/v2/Users/0190f3c2-7a4e-7b1c-9d2e-3f4a5b6c7d8e"}}`
	group := `{"schemas":["` + schemaGroup + `"],"id":"0190f3c2-7a4e-7b1c-9d2e-000000000001",` +
		`"displayName":"load team 001","meta":{"resourceType":"Group","version":"W/\"1\""}}`
	miss := `{"schemas":["` + schemaList + `"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}`
	users := miss
	if userHit {
		users = `{"schemas":["` + schemaList + `"],"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":[` + user + `]}`
	}
	return map[string]capturedResponse{
		"GET /Users":    {Status: http.StatusOK, ContentType: scimContentType, Body: []byte(users)},
		"POST /Users":   {Status: http.StatusCreated, ContentType: scimContentType, Body: []byte(user)},
		"GET /Groups":   {Status: http.StatusOK, ContentType: scimContentType, Body: []byte(miss)},
		"POST /Groups":  {Status: http.StatusCreated, ContentType: scimContentType, Body: []byte(group)},
		"PATCH /Groups": {Status: http.StatusNoContent},
	}
}
