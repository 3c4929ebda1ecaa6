package main

// Two `roster serve` processes on one store, as behind a load balancer:
// what must hold across instances is checked with requests split between
// them. The store is the SQLite file, and the MongoDB-wire server too when
// ROSTER_TEST_MONGODB_URI names one.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	mongoopts "go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/internal/cluster"
	"github.com/rosterhq/roster/repository"
)

// clusterStore is one store the cluster tests run on.
type clusterStore struct {
	name string
	url  string
	// ferret is true when the server is FerretDB, which lacks atomic
	// single-document updates (see the README's Tests section).
	ferret bool
}

// clusterStores returns the stores to run on: a fresh SQLite file, and a
// fresh database on the MongoDB-wire server when one is configured.
func clusterStores(t *testing.T) []clusterStore {
	t.Helper()
	stores := []clusterStore{{name: "sqlite", url: "sqlite:" + filepath.Join(t.TempDir(), "roster.db")}}
	base := os.Getenv("ROSTER_TEST_MONGODB_URI")
	if base == "" {
		return stores
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("ROSTER_TEST_MONGODB_URI: %v", err)
	}
	// A fresh database per test; MongoDB limits names to 63 bytes and
	// some characters.
	dbName := "roster_cluster_" + strings.ReplaceAll(strings.ToLower(repository.NewID()), "-", "")
	u.Path = "/" + dbName
	uri := u.String()
	st := openTestStore(t, uri)
	type ferretProbe interface{ IsFerretDB() bool }
	fp, ok := st.(ferretProbe)
	stores = append(stores, clusterStore{name: "mongodb", url: uri, ferret: ok && fp.IsFerretDB()})
	t.Cleanup(func() { dropDatabase(t, base, dbName) })
	return stores
}

func openTestStore(t *testing.T, storeURL string) repository.Store {
	t.Helper()
	u, err := config.ParseStoreURL(storeURL)
	if err != nil {
		t.Fatal(err)
	}
	s, err := openStore(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dropDatabase(t *testing.T, uri, db string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongodrv.Connect(mongoopts.Client().ApplyURI(uri))
	if err != nil {
		t.Logf("drop %s: %v", db, err)
		return
	}
	defer c.Disconnect(ctx)
	if err := c.Database(db).Drop(ctx); err != nil {
		t.Logf("drop %s: %v", db, err)
	}
}

// startCluster starts two instances on st with a shared secret key and
// returns the cluster. extraEnv configures both.
func startCluster(t *testing.T, st clusterStore, extraEnv ...string) *cluster.Cluster {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	// The test IdPs listen on loopback, which Roster refuses by default.
	env := append([]string{"ROSTER_SSO_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key),
		"ROSTER_SSO_ALLOW_PRIVATE_NETWORKS=true"}, extraEnv...)
	return cluster.Start(t, cluster.Options{
		Binary: cluster.Build(t),
		Store:  st.url,
		Env:    env,
		Args:   []string{"--scim-rate-limit", "0"},
	})
}

// send makes one JSON request and returns the status and decoded body.
func send(t *testing.T, method, u, token string, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(b))
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	ct := "application/json"
	if strings.Contains(u, "/scim/v2/") {
		ct = "application/scim+json"
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, u, err)
		return 0, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

func scimUser(userName string, roles ...string) map[string]any {
	u := map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"emails":   []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"active":   true,
	}
	var rs []any
	for _, r := range roles {
		rs = append(rs, map[string]any{"value": r})
	}
	if rs != nil {
		u["roles"] = rs
	}
	return u
}

// parallel runs fn(i) for i in [0, n) at once and waits.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// TestClusterUniqueUserName: the same userName POSTed at once through
// both instances is created exactly once; every other attempt is a 409.
func TestClusterUniqueUserName(t *testing.T) {
	for _, st := range clusterStores(t) {
		t.Run(st.name, func(t *testing.T) {
			c := startCluster(t, st)
			acct := c.CreateAccount(t, "Unique "+st.name, 10)
			const n = 24
			codes := make([]int, n)
			parallel(n, func(i int) {
				codes[i], _ = send(t, http.MethodPost, c.URL(i%2)+"/scim/v2/Users", acct.SCIMToken,
					scimUser("same.person@unique.example", "reporter"))
			})
			count := map[int]int{}
			for _, code := range codes {
				count[code]++
			}
			if count[http.StatusCreated] != 1 || count[http.StatusConflict] != n-1 {
				t.Errorf("status counts %v, want exactly one 201 and %d 409", count, n-1)
			}
		})
	}
}

// TestClusterSeatLimit: 64 agents created at once through both instances
// of an account with 10 seats never hold more than 10 seats; the rest
// queue (the account's default).
func TestClusterSeatLimit(t *testing.T) {
	for _, st := range clusterStores(t) {
		t.Run(st.name, func(t *testing.T) {
			c := startCluster(t, st)
			acct := c.CreateAccount(t, "Seats "+st.name, 10)
			const n = 64
			codes := make([]int, n)
			seat := make([]string, n)
			parallel(n, func(i int) {
				code, body := send(t, http.MethodPost, c.URL(i%2)+"/scim/v2/Users", acct.SCIMToken,
					scimUser(fmt.Sprintf("agent%02d@seats.example", i), "agent"))
				codes[i] = code
				if ext, ok := body["urn:ietf:params:scim:schemas:extension:roster:2.0:User"].(map[string]any); ok {
					seat[i], _ = ext["seatStatus"].(string)
				}
			})
			assigned := 0
			for i := range n {
				if codes[i] != http.StatusCreated {
					t.Errorf("create agent %d: status %d, want 201 (queued when no seat is free)", i, codes[i])
				}
				if seat[i] == repository.SeatAssigned {
					assigned++
				}
			}
			if assigned > 10 {
				t.Errorf("%d creates answered with an assigned seat; the account has 10", assigned)
			}

			store := openTestStore(t, st.url)
			usage, err := store.UsageTotals(t.Context(), true)
			if err != nil {
				t.Fatal(err)
			}
			var line repository.AccountUsage
			for _, a := range usage.ByAccount {
				if a.AccountID == acct.AccountID {
					line = a
				}
			}
			if line.SeatsInUse > 10 {
				t.Fatalf("%d seats held; the account has 10", line.SeatsInUse)
			}
			// With more agents than seats, every seat is taken and the
			// others wait in the queue.
			if line.SeatsInUse != 10 || line.SeatsQueued != n-10 {
				t.Errorf("seats in use %d, queued %d; want 10 and %d", line.SeatsInUse, line.SeatsQueued, n-10)
			}
			if assigned != line.SeatsInUse {
				t.Errorf("%d responses say assigned, the store holds %d seats", assigned, line.SeatsInUse)
			}
		})
	}
}

// TestClusterOutboxSendsOnce: both instances run the outbox sender against
// one SMTP server; every invitation email arrives exactly once.
func TestClusterOutboxSendsOnce(t *testing.T) {
	for _, st := range clusterStores(t) {
		t.Run(st.name, func(t *testing.T) {
			sink := startSMTPSink(t)
			_, port, _ := net.SplitHostPort(sink.addr)
			c := startCluster(t, st,
				"ROSTER_MAIL_TRANSPORT=smtp", "ROSTER_SMTP_HOST=127.0.0.1", "ROSTER_SMTP_PORT="+port,
				"ROSTER_SMTP_TLS=none", "ROSTER_MAIL_FROM=Roster <no-reply@cluster.example>")
			acct := c.CreateAccount(t, "Outbox "+st.name, 10)
			const n = 30
			var want []string
			for i := range n {
				want = append(want, fmt.Sprintf("invitee%02d@outbox.example", i))
			}
			parallel(n, func(i int) {
				code, body := send(t, http.MethodPost, c.URL(i%2)+"/api/v1/invitations", acct.APIToken, map[string]any{
					"email": want[i], "firstName": "In", "lastName": fmt.Sprintf("Vitee%02d", i), "roles": []string{"reporter"},
				})
				if code != http.StatusCreated {
					t.Errorf("invite %s: %d %v", want[i], code, body)
				}
			})
			if t.Failed() {
				return
			}

			// Wait for every invitation, then a few more polling rounds
			// of both senders, in which a duplicate would show.
			deadline := time.Now().Add(60 * time.Second)
			for !sink.hasAll(want) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(3 * time.Second)
			got := sink.counts()
			for _, to := range want {
				if got[to] != 1 {
					if st.ferret && got[to] > 1 {
						t.Skipf("needs real MongoDB: FerretDB's non-atomic updates let two senders lease one message (%s got %d)", to, got[to])
					}
					t.Errorf("%s received %d emails, want 1", to, got[to])
				}
			}
		})
	}
}

// smtpSink is a real SMTP server on loopback counting messages per
// recipient.
type smtpSink struct {
	addr string
	mu   sync.Mutex
	to   map[string]int
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	s := &smtpSink{to: map[string]int{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: s}, nil
	}))
	srv.Domain = "mx.cluster.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpSink) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.to))
	for k, v := range s.to {
		out[k] = v
	}
	return out
}

func (s *smtpSink) hasAll(rcpts []string) bool {
	got := s.counts()
	for _, r := range rcpts {
		if got[r] == 0 {
			return false
		}
	}
	return true
}

type sinkSession struct {
	sink *smtpSink
	rcpt []string
}

func (s *sinkSession) AuthPlain(username, password string) error { return nil }
func (s *sinkSession) Mail(from string, opts *smtp.MailOptions) error {
	return nil
}
func (s *sinkSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.rcpt = append(s.rcpt, strings.ToLower(to))
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	for _, to := range s.rcpt {
		s.sink.to[to]++
	}
	return nil
}
func (s *sinkSession) Reset()        { s.rcpt = nil }
func (s *sinkSession) Logout() error { return nil }
