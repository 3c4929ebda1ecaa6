package samlsp

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/sso/connector"
)

// FuzzACS posts arbitrary SAMLResponse values: ACS must never panic and
// never accept one (no input can carry a valid signature answering a
// request this SP issued). data is base64-encoded first unless raw.
//
// It runs on an in-memory store so each exec is cheap (the store is not
// what is fuzzed; every other test uses SQLite). Inputs are kilobytes, so
// keep minimisation short or it stalls the run:
//
//	go test -run '^$' -fuzz FuzzACS -fuzztime 60s -fuzzminimizetime 200x ./sso/samlsp/
func FuzzACS(f *testing.F) {
	fx := newFixtureOn(f, &memStore{}, nil)
	valid := fx.spec("id-never-issued")
	seeds := [][]byte{
		build(f, valid),
		build(f, func() respSpec {
			s := fx.spec("id-never-issued")
			s.signAssertion, s.signResponse = false, true
			return s
		}()),
		build(f, func() respSpec { s := fx.spec("id-never-issued"); s.encryptFor = fx.spKeys.cert; return s }()),
		build(f, func() respSpec {
			s := fx.spec("id-never-issued")
			s.mutate = func(doc *etree.Document) { doc.Root().AddChild(forged(doc)) }
			return s
		}()),
		build(f, func() respSpec { s := fx.spec(""); s.signAssertion = false; return s }()),
		[]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`),
		[]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`),
		[]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="r" Version="2.0"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="a"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></saml:Assertion></samlp:Response>`),
		{},
	}
	for _, s := range seeds {
		f.Add(s, false)
	}
	f.Add([]byte("%%%"), true)
	f.Add([]byte("PHNhbWxwOlJlc3BvbnNl"), true)

	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		value := string(data)
		if !raw {
			value = base64.StdEncoding.EncodeToString(data)
		}
		r := formPost(url.Values{"SAMLResponse": {value}, "RelayState": {"https://evil.example/"}})
		id, err := fx.sp.ACS(context.Background(), r, testBrowser)
		if err == nil {
			t.Fatalf("accepted %+v", id)
		}
		var le *connector.LoginError
		if !errors.As(err, &le) || le.Reason == "" || le.Public == "" {
			t.Fatalf("error %v is not a complete LoginError", err)
		}
	})
}

// memStore is a minimal in-memory Store for the fuzz target.
type memStore struct {
	mu     sync.Mutex
	once   map[string][]byte
	replay map[string]time.Time
}

func (m *memStore) PutOneTime(_ context.Context, key string, value []byte, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.once == nil {
		m.once = map[string][]byte{}
	}
	if _, ok := m.once[key]; ok {
		return repository.NewConflict("key", key)
	}
	m.once[key] = value
	return nil
}

func (m *memStore) TakeOneTime(_ context.Context, key string, _ time.Time) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.once[key]
	if !ok {
		return nil, repository.ErrNotFound
	}
	delete(m.once, key)
	return v, nil
}

func (m *memStore) DeleteExpiredOneTime(context.Context, time.Time) (int, error) { return 0, nil }

func (m *memStore) UseOnce(_ context.Context, key string, exp time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.replay == nil {
		m.replay = map[string]time.Time{}
	}
	if _, ok := m.replay[key]; ok {
		return repository.ErrReplayed
	}
	m.replay[key] = exp
	return nil
}

func (m *memStore) DeleteExpiredReplays(context.Context, time.Time) (int, error) { return 0, nil }
