package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// SCIMErrorTypeKey is the gin context key under which the SCIM layer
// leaves the scimType of an error response ("" when it has none); the
// middleware reads it for roster_scim_errors_total. It equals
// scim.ErrorTypeKey (kept as a literal so this package does not import
// the SCIM layer).
const SCIMErrorTypeKey = "scim.errorType"

// unmatchedRoute labels requests no route matched (404s): their raw paths
// are unbounded and never become labels.
const unmatchedRoute = "(unmatched)"

// Middleware counts and times every request. Register it before the
// routes (gin's Use), after request ids.
func (r *Registry) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		elapsed := time.Since(start).Seconds()
		status := c.Writer.Status()
		method := methodLabel(c.Request.Method)
		route := c.FullPath()
		var op scimOp
		isSCIM := route != "" && strings.HasPrefix(route, r.scimPrefix+"/")
		if isSCIM {
			// SCIM is mounted as one catch-all route; name the operation
			// and use its template instead.
			op = classifySCIM(c.Request.Method, strings.TrimPrefix(c.Request.URL.Path, r.scimPrefix))
			route = r.scimPrefix + op.template
		}
		if route == "" {
			route = unmatchedRoute
		}
		r.httpRequests.WithLabelValues(route, method, strconv.Itoa(status), clientOf(c.Request.UserAgent())).Inc()
		r.httpDuration.WithLabelValues(route, method).Observe(elapsed)
		if !isSCIM {
			return
		}
		outcome := "ok"
		if status >= 400 {
			outcome = "error"
			typ, _ := c.Get(SCIMErrorTypeKey)
			s, _ := typ.(string)
			r.scimErrors.WithLabelValues(scimTypeLabel(s), strconv.Itoa(status)).Inc()
		}
		r.scimOps.WithLabelValues(op.operation, op.resource, outcome).Inc()
	}
}

// clientOf names the identity provider behind a User-Agent. Okta's SCIM
// client sends "Okta SCIM Client 1.0.0"; Microsoft Entra's provisioning
// service has sent "Microsoft Azure AD SCIM provisioning …" (and the
// Microsoft.AAD / Entra spellings are matched too, as Microsoft renames).
// Everything else is "other".
func clientOf(userAgent string) string {
	ua := strings.ToLower(userAgent)
	switch {
	case strings.Contains(ua, "okta"):
		return "okta"
	case strings.Contains(ua, "azure ad"), strings.Contains(ua, "microsoft.aad"),
		strings.Contains(ua, "entra"), strings.Contains(ua, "aad provisioning"):
		return "entra"
	}
	return "other"
}

// methodLabel keeps the method label to the methods Roster serves.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// scimTypes are the scimType values of RFC 7644 section 3.12.
var scimTypes = map[string]bool{
	"invalidFilter": true, "tooMany": true, "uniqueness": true, "mutability": true,
	"invalidSyntax": true, "invalidPath": true, "noTarget": true, "invalidValue": true,
	"invalidVers": true, "sensitive": true,
}

func scimTypeLabel(s string) string {
	switch {
	case s == "":
		return "none"
	case scimTypes[s]:
		return s
	}
	return "other"
}

// scimOp is what a SCIM request does, for labels.
type scimOp struct {
	operation string // create, replace, patch, delete, get, list, search, bulk, discovery, other
	resource  string // User, Group, Bulk, ServiceProviderConfig, ResourceType, Schema, any, other
	template  string // route template below the SCIM prefix: "/Users/:id"
}

// classifySCIM names the operation of a request to path (below the SCIM
// prefix). Resource names compare without case, as the SCIM layer's do.
func classifySCIM(method, path string) scimOp {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	other := scimOp{"other", "other", "/*path"}
	if len(segs) == 0 || len(segs) > 2 {
		return other
	}
	first := segs[0]
	switch {
	case strings.EqualFold(first, "Users"), strings.EqualFold(first, "Groups"):
		res, tmpl := "User", "/Users"
		if strings.EqualFold(first, "Groups") {
			res, tmpl = "Group", "/Groups"
		}
		if len(segs) == 1 {
			switch method {
			case http.MethodGet, http.MethodHead:
				return scimOp{"list", res, tmpl}
			case http.MethodPost:
				return scimOp{"create", res, tmpl}
			}
			return scimOp{"other", res, tmpl}
		}
		if segs[1] == ".search" {
			return scimOp{"search", res, tmpl + "/.search"}
		}
		tmpl += "/:id"
		switch method {
		case http.MethodGet, http.MethodHead:
			return scimOp{"get", res, tmpl}
		case http.MethodPut:
			return scimOp{"replace", res, tmpl}
		case http.MethodPatch:
			return scimOp{"patch", res, tmpl}
		case http.MethodDelete:
			return scimOp{"delete", res, tmpl}
		}
		return scimOp{"other", res, tmpl}
	case first == ".search" && len(segs) == 1:
		return scimOp{"search", "any", "/.search"}
	case strings.EqualFold(first, "Bulk") && len(segs) == 1:
		return scimOp{"bulk", "Bulk", "/Bulk"}
	case strings.EqualFold(first, "ServiceProviderConfig") && len(segs) == 1:
		return scimOp{"discovery", "ServiceProviderConfig", "/ServiceProviderConfig"}
	case strings.EqualFold(first, "ResourceTypes"), strings.EqualFold(first, "Schemas"):
		res, tmpl := "ResourceType", "/ResourceTypes"
		if strings.EqualFold(first, "Schemas") {
			res, tmpl = "Schema", "/Schemas"
		}
		if len(segs) == 2 {
			tmpl += "/:id"
		}
		return scimOp{"discovery", res, tmpl}
	}
	return other
}
