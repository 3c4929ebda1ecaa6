package adminapi

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/scim/filter"
)

// Page is the envelope of every paged list.
type Page[T any] struct {
	Items []T `json:"items"`
	// Total is the number of matches over all pages.
	Total int `json:"total" doc:"number of matches over all pages"`
	// NextCursor continues after the last item; absent on the last page.
	NextCursor string `json:"nextCursor,omitempty" doc:"pass as cursor to get the next page; absent on the last page"`
}

// List is the envelope of a list that is never paged (roles, tokens).
type List[T any] struct {
	Items []T `json:"items"`
}

// query returns the last value of a query parameter, and whether it was
// sent.
func query(c *gin.Context, name string) (string, bool) {
	vs, sent := c.Request.URL.Query()[name]
	if !sent || len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// knownParams refuses query parameters a route does not take, so a typo
// (sortby, filter[0]) is an error rather than an ignored option.
func knownParams(q url.Values, names ...string) error {
	for k := range q {
		found := false
		for _, n := range names {
			if k == n {
				found = true
				break
			}
		}
		if !found {
			hint := ""
			for _, n := range names {
				if strings.EqualFold(n, k) {
					hint = "; did you mean " + strconv.Quote(n) + "?"
				}
			}
			return errorf(string(provisioning.CodeInvalidQuery), k, "unknown query parameter %q%s", k, hint)
		}
	}
	return nil
}

// intParam reads an integer query parameter within [lo, hi].
func intParam(c *gin.Context, name string, def, lo, hi int) (int, error) {
	v, sent := query(c, name)
	if !sent {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, errorf(CodeInvalidType, name, "%s must be an integer, not %q", name, v)
	}
	if n < lo || n > hi {
		return 0, errorf(string(provisioning.CodeInvalidValue), name, "%s must be between %d and %d, got %d", name, lo, hi, n)
	}
	return n, nil
}

// timeParam reads an RFC 3339 query parameter; absent is the zero time.
func timeParam(c *gin.Context, name string) (time.Time, error) {
	v, sent := query(c, name)
	if !sent || strings.TrimSpace(v) == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, errorf(CodeInvalidType, name, "%s must be a date-time like 2025-01-31T12:00:00Z, not %q", name, v)
	}
	return t, nil
}

// sortAliases maps this API's field names to the SCIM attribute paths the
// filter package sorts by.
var sortAliases = map[string]string{
	"firstName": "name.givenName",
	"lastName":  "name.familyName",
	"createdAt": "meta.created",
	"updatedAt": "meta.lastModified",
}

// listQuery reads the list parameters into a repository query over
// resource r: filter in SCIM filter syntax (RFC 7644 section 3.4.2.2),
// sortBy (this API's names or SCIM paths), sortOrder (ascending or
// descending), count, and either startIndex (1-based) or cursor.
func (a *API) listQuery(c *gin.Context, r filter.Resource) (repository.Query, error) {
	var q repository.Query
	expr, _ := query(c, "filter")
	f, err := r.Compile(expr)
	if err != nil {
		return q, err
	}
	q.Filter = f
	if sortBy, _ := query(c, "sortBy"); strings.TrimSpace(sortBy) != "" {
		if alias, isAlias := sortAliases[strings.TrimSpace(sortBy)]; isAlias {
			sortBy = alias
		}
		if q.SortBy, err = r.SortField(sortBy); err != nil {
			return q, err
		}
	}
	if order, sent := query(c, "sortOrder"); sent {
		switch strings.ToLower(strings.TrimSpace(order)) {
		case "ascending", "asc", "":
		case "descending", "desc":
			q.SortDesc = true
		default:
			return q, errorf(string(provisioning.CodeInvalidValue), "sortOrder", "sortOrder must be ascending or descending, not %q", order)
		}
	}
	if q.Count, err = intParam(c, "count", a.opts.DefaultCount, 0, a.opts.MaxCount); err != nil {
		return q, err
	}
	cursor, hasCursor := query(c, "cursor")
	_, hasStart := query(c, "startIndex")
	if hasCursor && hasStart {
		return q, errorf(string(provisioning.CodeInvalidQuery), "cursor", "give either startIndex or cursor, not both")
	}
	if q.StartIndex, err = intParam(c, "startIndex", 1, 1, 1<<30); err != nil {
		return q, err
	}
	if hasCursor {
		if strings.TrimSpace(cursor) == "" {
			return q, errorf(string(provisioning.CodeInvalidValue), "cursor", "cursor must not be empty")
		}
		if _, err := repository.DecodeCursor(cursor); err != nil {
			return q, errorf(string(provisioning.CodeInvalidValue), "cursor", "cursor is not one this API returned")
		}
		q.Cursor = cursor
	}
	return q, nil
}

// etag is the weak entity tag of a record version, W/"3", as the SCIM door
// writes it: the same member has the same tag at both doors.
func etag(version int64) string {
	return `W/"` + strconv.FormatInt(version, 10) + `"`
}

// ifMatch reads If-Match into provisioning's precondition. No header or
// "*" is no condition (the write checks the record exists anyway); a tag
// that is not one of ours becomes a version no record has, so the write
// fails with 412.
func ifMatch(c *gin.Context) provisioning.IfVersion {
	h := strings.TrimSpace(c.GetHeader("If-Match"))
	if h == "" {
		return nil
	}
	var vs provisioning.IfVersion
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return nil
		}
		t = strings.TrimPrefix(t, "W/")
		t = strings.TrimPrefix(strings.TrimSuffix(t, `"`), `"`)
		v, err := strconv.ParseInt(t, 10, 64)
		if err != nil || v < 1 {
			v = -1
		}
		vs = append(vs, v)
	}
	return vs
}

// checkVersion applies an If-Match to a record read outside provisioning
// (roles): a mismatch is the same 412 provisioning gives.
func checkVersion(want provisioning.IfVersion, version int64) error {
	if len(want) == 0 {
		return nil
	}
	for _, v := range want {
		if v == version {
			return nil
		}
	}
	return &provisioning.Error{Code: provisioning.CodeVersionMismatch,
		Message: "the resource is at version " + strconv.FormatInt(version, 10) + ", not the one given in If-Match; fetch it again",
		Err:     repository.ErrVersionMismatch}
}
