package scim

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/scim/filter"
)

// listParams are the query parameters of a list or search (RFC 7644
// sections 3.4.2 and 3.4.3).
type listParams struct {
	filter     string
	sortBy     string
	sortDesc   bool
	startIndex int // 1-based
	count      int // already capped
	attributes []string
	excluded   []string
}

// listParamsFromQuery reads the parameters of a GET.
func (s *Server) listParamsFromQuery(q url.Values) (listParams, error) {
	get := func(name string) (string, bool) {
		for k, v := range q {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[len(v)-1], true
			}
		}
		return "", false
	}
	lp := listParams{startIndex: 1, count: s.opts.DefaultCount}
	lp.filter, _ = get("filter")
	lp.sortBy, _ = get("sortBy")
	if v, ok := get("sortOrder"); ok {
		desc, err := parseSortOrder(v)
		if err != nil {
			return lp, err
		}
		lp.sortDesc = desc
	}
	if v, ok := get("startIndex"); ok {
		n, err := parseInt("startIndex", v)
		if err != nil {
			return lp, err
		}
		lp.startIndex = n
	}
	if v, ok := get("count"); ok {
		n, err := parseInt("count", v)
		if err != nil {
			return lp, err
		}
		lp.count = n
	}
	if v, ok := get("attributes"); ok {
		lp.attributes = []string{v}
	}
	if v, ok := get("excludedAttributes"); ok {
		lp.excluded = []string{v}
	}
	return lp.clamp(s.opts.MaxResults), nil
}

// listParamsFromSearch reads the body of a POST .search.
func (s *Server) listParamsFromSearch(body []byte) (listParams, error) {
	obj, err := decodeObject(body)
	if err != nil {
		return listParams{}, err
	}
	lp := listParams{startIndex: 1, count: s.opts.DefaultCount}
	for k, v := range obj {
		switch strings.ToLower(k) {
		case "schemas":
			list, ok := v.([]any)
			if !ok || len(list) != 1 || !strings.EqualFold(fmt.Sprint(list[0]), URNSearchRequest) {
				return lp, badRequest(typeInvalidSyntax, "a search takes the schema %q", URNSearchRequest)
			}
		case "filter":
			if lp.filter, err = stringParam("filter", v); err != nil {
				return lp, err
			}
		case "sortby":
			if lp.sortBy, err = stringParam("sortBy", v); err != nil {
				return lp, err
			}
		case "sortorder":
			order, err := stringParam("sortOrder", v)
			if err != nil {
				return lp, err
			}
			if order != "" {
				if lp.sortDesc, err = parseSortOrder(order); err != nil {
					return lp, err
				}
			}
		case "startindex":
			if lp.startIndex, err = intParam("startIndex", v); err != nil {
				return lp, err
			}
		case "count":
			if lp.count, err = intParam("count", v); err != nil {
				return lp, err
			}
		case "attributes":
			if lp.attributes, err = stringsParam("attributes", v); err != nil {
				return lp, err
			}
		case "excludedattributes":
			if lp.excluded, err = stringsParam("excludedAttributes", v); err != nil {
				return lp, err
			}
		}
	}
	return lp.clamp(s.opts.MaxResults), nil
}

// clamp applies RFC 7644 section 3.4.2.4: a startIndex below 1 means 1, a
// negative count means 0, and a count above the server's maximum means
// the maximum.
func (lp listParams) clamp(maxResults int) listParams {
	lp.startIndex = max(lp.startIndex, 1)
	lp.count = min(max(lp.count, 0), maxResults)
	return lp
}

// parseInt reads an integer query parameter.
func parseInt(name, v string) (int, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0, badRequest(typeInvalidValue, "%s must be an integer, not %q", name, v)
	}
	return int(n), nil
}

// intParam reads an integer member of a search body (a JSON number, or a
// string of digits).
func intParam(name string, v any) (int, error) {
	switch n := v.(type) {
	case json.Number:
		return parseInt(name, n.String())
	case string:
		return parseInt(name, n)
	}
	return 0, badRequest(typeInvalidValue, "%s must be an integer, not %s", name, describe(v))
}

// stringParam reads a string member of a search body.
func stringParam(name string, v any) (string, error) {
	switch s := v.(type) {
	case nil:
		return "", nil
	case string:
		return s, nil
	}
	return "", badRequest(typeInvalidValue, "%s must be a string, not %s", name, describe(v))
}

// stringsParam reads a list of strings (or one comma-separated string).
func stringsParam(name string, v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, badRequest(typeInvalidValue, "%s must be a list of attribute names", name)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, badRequest(typeInvalidValue, "%s must be a list of attribute names, not %s", name, describe(v))
}

// parseSortOrder reads "ascending" or "descending" (any case).
func parseSortOrder(v string) (desc bool, err error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "ascending":
		return false, nil
	case "descending":
		return true, nil
	}
	return false, badRequest(typeInvalidValue, "sortOrder must be \"ascending\" or \"descending\", not %q", v)
}

// listResponse is the body of a list (RFC 7644 section 3.4.2).
type listResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	ItemsPerPage int      `json:"itemsPerPage"`
	StartIndex   int      `json:"startIndex"`
	Resources    []any    `json:"Resources"`
}

// newListResponse makes a list response of one page.
func newListResponse(total, startIndex int, resources []any) *listResponse {
	if resources == nil {
		resources = []any{}
	}
	return &listResponse{
		Schemas:      []string{URNListResponse},
		TotalResults: total,
		ItemsPerPage: len(resources),
		StartIndex:   startIndex,
		Resources:    resources,
	}
}

// query builds the repository query of a list of one resource type.
func (lp listParams) query(res filter.Resource) (repository.Query, error) {
	f, err := res.Compile(lp.filter)
	if err != nil {
		return repository.Query{}, err
	}
	sortBy, err := res.SortField(lp.sortBy)
	if err != nil {
		return repository.Query{}, err
	}
	return repository.Query{
		Filter:     f,
		SortBy:     sortBy,
		SortDesc:   lp.sortDesc && sortBy != "",
		StartIndex: lp.startIndex,
		Count:      lp.count,
	}, nil
}

// listUsers answers a list or search of Users. The filter runs in the
// store; the page's groups come with it (Query.WithGroups), and only when
// the projection returns them.
func (s *Server) listUsers(ctx context.Context, t tenant, lp listParams) (*listResponse, error) {
	q, err := lp.query(filter.Users)
	if err != nil {
		return nil, err
	}
	proj := parseProjection(filter.Users, lp.attributes, lp.excluded)
	q.WithGroups = proj.returns("groups")
	page, err := s.store().ListMembers(ctx, t.accountID, q)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	resources, err := s.renderUsers(ctx, t, page.Items, proj, false)
	if err != nil {
		return nil, err
	}
	return newListResponse(page.Total, lp.startIndex, resources), nil
}

// listGroups answers a list or search of Groups; members are loaded only
// when the projection returns them (excludedAttributes=members never
// reads an edge).
func (s *Server) listGroups(ctx context.Context, t tenant, lp listParams) (*listResponse, error) {
	q, err := lp.query(filter.Groups)
	if err != nil {
		return nil, err
	}
	proj := parseProjection(filter.Groups, lp.attributes, lp.excluded)
	withMembers := proj.returns("members")
	page, err := s.store().ListGroups(ctx, t.accountID, q, withMembers)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	resources := make([]any, len(page.Items))
	for i, g := range page.Items {
		resources[i] = proj.apply(s.cat.groups, renderGroup(g, s.base, withMembers, false))
	}
	return newListResponse(page.Total, lp.startIndex, resources), nil
}

// searchAll answers POST /.search at the root: Users, then Groups, as one
// list. The filter applies to each type; a type whose schema cannot
// answer it (an attribute it does not have) contributes nothing, and the
// filter is an error only when no type can answer it. Sorting applies
// within each type.
func (s *Server) searchAll(ctx context.Context, t tenant, lp listParams) (*listResponse, error) {
	type part struct {
		list func(context.Context, tenant, listParams) (*listResponse, error)
		res  filter.Resource
	}
	type usablePart struct {
		part
		lp listParams
	}
	parts := []part{{s.listUsers, filter.Users}, {s.listGroups, filter.Groups}}
	var filterErr, sortErr error
	var usable []usablePart
	sorted := false
	for _, p := range parts {
		if _, err := p.res.Compile(lp.filter); err != nil {
			filterErr = cmp.Or(filterErr, err)
			continue
		}
		plp := lp
		if _, err := p.res.SortField(lp.sortBy); err != nil {
			// sortBy names an attribute this type lacks: its results come
			// unsorted.
			sortErr = cmp.Or(sortErr, err)
			plp.sortBy = ""
		} else if lp.sortBy != "" {
			sorted = true
		}
		usable = append(usable, usablePart{p, plp})
	}
	switch {
	case len(usable) == 0:
		return nil, filterErr
	case lp.sortBy != "" && !sorted:
		return nil, sortErr
	}
	total := 0
	var resources []any
	skip := lp.startIndex - 1 // results before the page, over all types
	want := lp.count
	for _, p := range usable {
		// First ask for the total only, then the slice of this type that
		// falls into the page.
		sub := p.lp
		sub.count = 0
		sub.startIndex = 1
		head, err := p.list(ctx, t, sub)
		if err != nil {
			return nil, err
		}
		n := head.TotalResults
		total += n
		if want == 0 || skip >= n {
			skip = max(skip-n, 0)
			continue
		}
		sub.startIndex = skip + 1
		sub.count = want
		page, err := p.list(ctx, t, sub)
		if err != nil {
			return nil, err
		}
		resources = append(resources, page.Resources...)
		want -= len(page.Resources)
		skip = 0
	}
	return newListResponse(total, lp.startIndex, resources), nil
}
