package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestGeneratedStoreIsCurrent fails when metrics/store_gen.go no longer
// matches repository.Store (a method was added, removed or changed).
func TestGeneratedStoreIsCurrent(t *testing.T) {
	want, err := generate("../../../repository")
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	got, err := os.ReadFile("../../store_gen.go")
	if err != nil {
		t.Fatalf("read store_gen.go: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("metrics/store_gen.go is stale: run `go generate ./metrics` and commit the result")
	}
}

func TestGenerateRendersSignatures(t *testing.T) {
	dir := t.TempDir()
	src := `package repository

import (
	"context"
	"time"
)

type Page[T any] struct{ Items []T }
type Member struct{}

type Store interface {
	Inner
	Plain() bool
	Close() error
}

type Inner interface {
	List(ctx context.Context, ids []string, q map[string]Member) (Page[Member], error)
	Each(ctx context.Context, fn func(Member) (Member, error), at ...time.Time) error
	Unnamed(context.Context, string) (int, time.Time, error)
	Shadow(ctx context.Context, s, start, err string) error
}
`
	if err := os.WriteFile(dir+"/store.go", []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := generate(dir)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	for _, want := range []string{
		"func (s *instrumentedStore) List(ctx context.Context, ids []string, q map[string]repository.Member) (repository.Page[repository.Member], error) {",
		"func (s *instrumentedStore) Each(ctx context.Context, fn func(repository.Member) (repository.Member, error), at ...time.Time) error {",
		"err := s.next.Each(ctx, fn, at...)",
		"func (s *instrumentedStore) Unnamed(p0 context.Context, p1 string) (int, time.Time, error) {",
		"r0, r1, err := s.next.Unnamed(p0, p1)",
		"func (s *instrumentedStore) Shadow(ctx context.Context, p1 string, p2 string, p3 string) error {",
		"func (s *instrumentedStore) Plain() bool {\n\treturn s.next.Plain()\n}",
		`s.r.observeStore("Close", start, err)`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("generated source lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), `"Plain"`) {
		t.Errorf("Plain (no error result) listed as instrumented")
	}
}

func TestGenerateRejectsForeignEmbedding(t *testing.T) {
	dir := t.TempDir()
	src := "package repository\n\nimport \"io\"\n\ntype Store interface {\n\tio.Closer\n}\n"
	if err := os.WriteFile(dir+"/store.go", []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := generate(dir); err == nil || !strings.Contains(err.Error(), "io.Closer") {
		t.Fatalf("generate: got %v, want an error naming io.Closer", err)
	}
}
