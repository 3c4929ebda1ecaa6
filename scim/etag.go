package scim

import (
	"strconv"
	"strings"

	"github.com/rosterhq/roster/provisioning"
)

// etag is the weak entity tag of a record version, W/"3". It is both
// meta.version and the ETag header (RFC 7644 section 3.14).
func etag(version int64) string {
	return `W/"` + strconv.FormatInt(version, 10) + `"`
}

// precondition is a parsed If-Match or If-None-Match header.
type precondition struct {
	any      bool    // "*"
	versions []int64 // the versions named; tags that are not ours match nothing
	present  bool    // the header was sent
}

// parseETags reads an If-Match / If-None-Match value: "*" or a list of
// entity tags, weak or strong (W/"3", "3"). A tag that is not one of ours
// is kept as version -1, which matches no record.
func parseETags(h string) precondition {
	h = strings.TrimSpace(h)
	if h == "" {
		return precondition{}
	}
	p := precondition{present: true}
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			p.any = true
			continue
		}
		t = strings.TrimPrefix(t, "W/")
		t = strings.TrimPrefix(strings.TrimSuffix(t, `"`), `"`)
		v, err := strconv.ParseInt(t, 10, 64)
		if err != nil || v < 1 {
			v = -1
		}
		p.versions = append(p.versions, v)
	}
	return p
}

// matches reports whether a record at version satisfies the tag list.
func (p precondition) matches(version int64) bool {
	if p.any {
		return true
	}
	for _, v := range p.versions {
		if v == version {
			return true
		}
	}
	return false
}

// ifVersion converts an If-Match into provisioning's precondition: no
// header or "*" (the record exists, which the write checks anyway) is no
// condition. A header naming only foreign tags becomes a version no record
// has, so the write fails with 412.
func (p precondition) ifVersion() provisioning.IfVersion {
	if !p.present || p.any {
		return nil
	}
	return provisioning.IfVersion(p.versions)
}
