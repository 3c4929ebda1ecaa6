package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// SCIM schema URNs used in the bodies an IdP sends.
const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaList       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	scimContentType  = "application/scim+json"
)

var (
	givenNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken",
		"Radia", "Dennis", "Frances", "John", "Katherine", "Linus", "Hedy", "Tim", "Sophie", "Niklaus",
		"Annie", "Leslie"}
	familyNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton",
		"Thompson", "Perlman", "Ritchie", "Allen", "McCarthy", "Johnson", "Torvalds", "Lamarr",
		"Berners-Lee", "Wilson", "Wirth", "Easley", "Lamport"}
	departments = []string{"Customer Support", "Sales", "Billing", "Technical Support", "Onboarding",
		"Quality Assurance", "Workforce Management", "Escalations"}
)

// population names the synthetic people of a run. The same index always
// yields the same person, so a second sync finds what the first created.
type population struct {
	prefix string
	domain string
}

// person is one synthetic directory user, as Entra ID would hold it.
type person struct {
	index      int
	userName   string
	objectID   string // Entra object id, sent as externalId
	givenName  string
	familyName string
	department string
}

func (p population) person(i int) person {
	given := givenNames[i%len(givenNames)]
	family := familyNames[(i/len(givenNames))%len(familyNames)]
	local := strings.ToLower(given + "." + strings.ReplaceAll(family, "-", ""))
	return person{
		index:      i,
		userName:   fmt.Sprintf("%s.%s%07d@%s", local, p.prefix, i, p.domain),
		objectID:   fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", hashString(p.prefix), i>>16&0xffff, i>>4&0xfff, i&0xf, i),
		givenName:  given,
		familyName: family,
		department: departments[i%len(departments)],
	}
}

// employeeNumber is the enterprise employeeNumber of p.
func (p person) employeeNumber() string { return fmt.Sprintf("E%07d", p.index) }

// hashString is FNV-1a; it only makes object ids differ between prefixes.
func hashString(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

type scimName struct {
	Formatted  string `json:"formatted"`
	FamilyName string `json:"familyName"`
	GivenName  string `json:"givenName"`
}

type scimEmail struct {
	Primary bool   `json:"primary"`
	Type    string `json:"type"`
	Value   string `json:"value"`
}

type enterpriseUser struct {
	EmployeeNumber string `json:"employeeNumber"`
	Department     string `json:"department"`
}

// entraUser mirrors the POST /Users body Microsoft Entra ID sends during an
// initial provisioning cycle (field order included).
type entraUser struct {
	Schemas     []string       `json:"schemas"`
	ExternalID  string         `json:"externalId"`
	UserName    string         `json:"userName"`
	Active      bool           `json:"active"`
	DisplayName string         `json:"displayName"`
	Emails      []scimEmail    `json:"emails"`
	Meta        map[string]any `json:"meta"`
	Name        scimName       `json:"name"`
	Enterprise  enterpriseUser `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
}

// entraUserBody returns the JSON body Entra would POST for p.
func entraUserBody(p person) ([]byte, error) {
	display := p.givenName + " " + p.familyName
	b, err := json.Marshal(entraUser{
		Schemas:     []string{schemaUser, schemaEnterprise},
		ExternalID:  p.objectID,
		UserName:    p.userName,
		Active:      true,
		DisplayName: display,
		Emails:      []scimEmail{{Primary: true, Type: "work", Value: p.userName}},
		Meta:        map[string]any{"resourceType": "User"},
		Name:        scimName{Formatted: display, FamilyName: p.familyName, GivenName: p.givenName},
		Enterprise: enterpriseUser{
			EmployeeNumber: p.employeeNumber(),
			Department:     p.department,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("encode user %q: %w", p.userName, err)
	}
	return b, nil
}

type entraGroup struct {
	Schemas     []string       `json:"schemas"`
	ExternalID  string         `json:"externalId"`
	DisplayName string         `json:"displayName"`
	Meta        map[string]any `json:"meta"`
}

// entraGroupBody returns the POST /Groups body Entra sends; Entra creates a
// group without members and adds them with PATCH afterwards.
func entraGroupBody(displayName, externalID string) ([]byte, error) {
	b, err := json.Marshal(entraGroup{
		Schemas:     []string{schemaGroup},
		ExternalID:  externalID,
		DisplayName: displayName,
		Meta:        map[string]any{"resourceType": "Group"},
	})
	if err != nil {
		return nil, fmt.Errorf("encode group %q: %w", displayName, err)
	}
	return b, nil
}

type memberValue struct {
	Value string `json:"value"`
}

type patchOperation struct {
	Op    string        `json:"op"`
	Path  string        `json:"path"`
	Value []memberValue `json:"value"`
}

type patchRequest struct {
	Schemas    []string         `json:"schemas"`
	Operations []patchOperation `json:"Operations"`
}

// addMembersBody returns a PatchOp adding memberIDs to a group, with the
// capitalised "Add" Entra uses.
func addMembersBody(memberIDs []string) ([]byte, error) {
	values := make([]memberValue, len(memberIDs))
	for i, id := range memberIDs {
		values[i] = memberValue{Value: id}
	}
	b, err := json.Marshal(patchRequest{
		Schemas:    []string{schemaPatchOp},
		Operations: []patchOperation{{Op: "Add", Path: "members", Value: values}},
	})
	if err != nil {
		return nil, fmt.Errorf("encode patch: %w", err)
	}
	return b, nil
}

// filterPath returns the path and query of an equality filter request, with
// the filter URL-encoded the way Entra sends it.
func filterPath(resource, attr, value string) string {
	v := url.Values{}
	v.Set("filter", attr+" eq "+scimString(value))
	return "/" + resource + "?" + v.Encode()
}

// groupFilterPath is the lookup Entra does before creating a group: it
// leaves members out so large groups stay cheap to return.
func groupFilterPath(displayName string) string {
	v := url.Values{}
	v.Set("excludedAttributes", "members")
	v.Set("filter", "displayName eq "+scimString(displayName))
	return "/Groups?" + v.Encode()
}

// scimString quotes v as a SCIM filter string literal (JSON string rules).
func scimString(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// listResponse is the part of a SCIM ListResponse the driver reads.
type listResponse struct {
	TotalResults int `json:"totalResults"`
	Resources    []struct {
		ID string `json:"id"`
	} `json:"Resources"`
}

// resource is the part of a created SCIM resource the driver reads.
type resource struct {
	ID string `json:"id"`
}
