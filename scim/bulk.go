package scim

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// This file is POST /Bulk (RFC 7644 section 3.7). Every operation goes
// through the same dispatcher as a single request, in its own
// transaction: a failed operation changes nothing, the others stand. The
// operations run in request order, except that a POST runs before the
// first operation referring to its bulkId ("bulkId:qwerty" in the data,
// as a member value, or in a path).

// bulkResult is one entry of a BulkResponse.
type bulkResult struct {
	Location string `json:"location,omitempty"`
	Method   string `json:"method"`
	BulkID   string `json:"bulkId,omitempty"`
	Version  string `json:"version,omitempty"`
	Status   string `json:"status"`
	Response any    `json:"response,omitempty"`
}

// bulkOp is one operation of a BulkRequest.
type bulkOp struct {
	method  string
	bulkID  string
	version string
	path    string
	data    any
	refs    []string // bulkIds it refers to
}

// bulkRefPattern finds bulkId references inside strings, also within a
// PATCH path such as members[value eq "bulkId:qwerty"].
var bulkRefPattern = regexp.MustCompile(`bulkId:([A-Za-z0-9._~-]+)`)

// bulk answers POST /Bulk.
func (s *Server) bulk(ctx context.Context, t tenant, r request) (*response, error) {
	ops, failOnErrors, err := s.parseBulk(r.body)
	if err != nil {
		return nil, err
	}
	postOf := map[string]int{} // bulkId -> index of its POST
	for i, op := range ops {
		if op.bulkID == "" {
			continue
		}
		if _, dup := postOf[op.bulkID]; dup {
			return nil, badRequest(typeInvalidValue, "bulkId %q is used by more than one operation", op.bulkID)
		}
		if op.method == http.MethodPost {
			postOf[op.bulkID] = i
		}
	}

	results := make([]*bulkResult, len(ops))
	created := map[string]string{} // bulkId -> new resource id
	state := make([]int, len(ops)) // 0 to run, 1 running, 2 done
	errorsSeen := 0
	stopped := false

	var run func(i int)
	run = func(i int) {
		state[i] = 1
		op := ops[i]
		var unresolved string
		for _, ref := range op.refs {
			j, ok := postOf[ref]
			if ok && state[j] == 0 {
				run(j)
			}
			if _, done := created[ref]; !done && unresolved == "" {
				unresolved = ref
			}
		}
		if stopped {
			state[i] = 2
			return
		}
		res := &bulkResult{Method: op.method, BulkID: op.bulkID}
		if unresolved != "" {
			e := errorf(http.StatusConflict, "",
				"bulkId %q cannot be resolved: no POST of this request with that bulkId succeeded before this operation (or the references form a cycle)", unresolved)
			res.Status, res.Response = strconv.Itoa(e.Status), e.body()
		} else {
			s.runBulkOp(ctx, t, op, created, res)
		}
		results[i] = res
		state[i] = 2
		if status, _ := strconv.Atoi(res.Status); status >= 400 {
			errorsSeen++
			if failOnErrors > 0 && errorsSeen >= failOnErrors {
				stopped = true
			}
		}
	}
	for i := range ops {
		if state[i] == 0 && !stopped {
			run(i)
		}
	}
	out := []any{}
	for _, res := range results {
		if res != nil {
			out = append(out, res)
		}
	}
	return &response{status: http.StatusOK, body: map[string]any{
		"schemas":    []string{URNBulkResponse},
		"Operations": out,
	}}, nil
}

// runBulkOp runs one operation with its references resolved and fills res.
func (s *Server) runBulkOp(ctx context.Context, t tenant, op bulkOp, created map[string]string, res *bulkResult) {
	resolve := func(str string) string {
		return bulkRefPattern.ReplaceAllStringFunc(str, func(m string) string {
			if id, ok := created[strings.TrimPrefix(m, "bulkId:")]; ok {
				return id
			}
			return m
		})
	}
	req := request{method: op.method, path: resolve(op.path), ifMatch: parseETags(op.version)}
	if op.data != nil {
		body, err := json.Marshal(replaceRefs(op.data, resolve))
		if err != nil {
			e := badRequest(typeInvalidSyntax, "data cannot be encoded: %v", err)
			res.Status, res.Response = strconv.Itoa(e.Status), e.body()
			return
		}
		req.body = body
	}
	if ep, _, _ := s.route(req.path); ep != epResources && ep != epResource {
		e := badRequest(typeInvalidPath, "a bulk operation addresses /Users, /Groups or one of their resources, not %q", op.path)
		res.Status, res.Response = strconv.Itoa(e.Status), e.body()
		return
	}
	resp, err := s.serve(ctx, t, req)
	if err != nil {
		e, internal := toSCIMError(err)
		if internal {
			s.log.ErrorContext(ctx, "scim: bulk operation", "error", err, "request_id", t.requestID, "path", op.path)
		}
		res.Status, res.Response = strconv.Itoa(e.Status), e.body()
		if op.method != http.MethodPost {
			res.Location = s.base + req.path
		}
		return
	}
	res.Status = strconv.Itoa(resp.status)
	res.Location = resp.location
	res.Version = resp.etag
	if res.Location == "" && op.method != http.MethodPost {
		res.Location = s.base + req.path
	}
	if op.method == http.MethodPost && op.bulkID != "" {
		if id := resp.location[strings.LastIndexByte(resp.location, '/')+1:]; id != "" {
			created[op.bulkID] = id
		}
	}
}

// replaceRefs returns v with resolve applied to every string in it.
func replaceRefs(v any, resolve func(string) string) any {
	switch x := v.(type) {
	case string:
		return resolve(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = replaceRefs(e, resolve)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = replaceRefs(e, resolve)
		}
		return out
	}
	return v
}

// collectRefs adds the bulkIds referred to in v to refs.
func collectRefs(v any, refs []string) []string {
	switch x := v.(type) {
	case string:
		for _, m := range bulkRefPattern.FindAllStringSubmatch(x, -1) {
			refs = append(refs, m[1])
		}
	case []any:
		for _, e := range x {
			refs = collectRefs(e, refs)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			refs = collectRefs(x[k], refs)
		}
	}
	return refs
}

// parseBulk reads a BulkRequest.
func (s *Server) parseBulk(body []byte) ([]bulkOp, int, error) {
	obj, err := decodeObject(body)
	if err != nil {
		return nil, 0, err
	}
	var rawOps []any
	failOnErrors := 0
	for k, v := range obj {
		switch strings.ToLower(k) {
		case "schemas":
			list, _ := v.([]any)
			if len(list) != 1 || !strings.EqualFold(asString(list[0]), URNBulkRequest) {
				return nil, 0, badRequest(typeInvalidSyntax, "a bulk request takes the schema %q", URNBulkRequest)
			}
		case "failonerrors":
			if v == nil {
				continue
			}
			if failOnErrors, err = intParam("failOnErrors", v); err != nil {
				return nil, 0, err
			}
		case "operations":
			list, ok := v.([]any)
			if !ok {
				return nil, 0, badRequest(typeInvalidSyntax, "Operations must be an array")
			}
			rawOps = list
		}
	}
	if len(rawOps) == 0 {
		return nil, 0, badRequest(typeInvalidSyntax, "a bulk request needs a non-empty \"Operations\" array")
	}
	if len(rawOps) > s.opts.MaxOperations {
		return nil, 0, errorf(http.StatusRequestEntityTooLarge, "",
			"the bulk request has %d operations; the maximum is %d (maxOperations)", len(rawOps), s.opts.MaxOperations)
	}
	ops := make([]bulkOp, len(rawOps))
	for i, raw := range rawOps {
		o, ok := raw.(map[string]any)
		if !ok {
			return nil, 0, badRequest(typeInvalidSyntax, "Operations[%d] must be an object", i)
		}
		var op bulkOp
		for k, v := range o {
			switch strings.ToLower(k) {
			case "method":
				op.method = strings.ToUpper(strings.TrimSpace(asString(v)))
			case "bulkid":
				op.bulkID = strings.TrimSpace(asString(v))
			case "version":
				op.version = asString(v)
			case "path":
				op.path = strings.TrimSpace(asString(v))
			case "data":
				op.data = v
			}
		}
		switch op.method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			return nil, 0, badRequest(typeInvalidValue, "Operations[%d].method must be POST, PUT, PATCH or DELETE, not %q", i, op.method)
		}
		if op.path == "" {
			return nil, 0, badRequest(typeInvalidValue, "Operations[%d] needs a path", i)
		}
		if op.method != http.MethodDelete && op.data == nil {
			return nil, 0, badRequest(typeInvalidValue, "Operations[%d] (%s) needs data", i, op.method)
		}
		op.refs = collectRefs(op.path, nil)
		op.refs = collectRefs(op.data, op.refs)
		ops[i] = op
	}
	return ops, failOnErrors, nil
}

// asString returns v when it is a string, else "".
func asString(v any) string {
	s, _ := v.(string)
	return s
}
