package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Operation names: the rows of every report, identical for Roster and the
// baseline so the two can be compared line by line.
const (
	opFindUser     = "GET /Users?filter=userName eq"
	opCreateUser   = "POST /Users"
	opFindGroup    = "GET /Groups?filter=displayName eq"
	opCreateGroup  = "POST /Groups"
	opAddMembers   = "PATCH /Groups add members (batch)"
	opFillBig      = "PATCH /Groups fill big group (batch)"
	opFillSmall    = "PATCH /Groups fill small group"
	opAddOneBig    = "PATCH /Groups add 1 → big group (sequential)"
	opAddOneSmall  = "PATCH /Groups add 1 → 2-member group (sequential)"
	counterFound   = "usersFound"
	counterCreated = "usersCreated"
	counterFailed  = "usersFailed"
)

// Phase names, also the keys that pair a Roster phase with its baseline run.
const (
	phaseSync     = "sync"
	phasePrepare  = "groups-prepare"
	phaseGroups   = "groups"
	phaseBigGroup = "big-group"
	phaseLookup   = "lookup"
	phaseSeed     = "seed"
)

// driver runs scenarios against one target.
type driver struct {
	cfg     config
	pop     population
	t       *target
	log     io.Writer
	capture bool
	runTag  string
	// beforePhase runs before a phase starts; the baseline uses it to load
	// the responses Roster gave in the phase of the same name.
	beforePhase func(name string)
	// lookupLimit, when > 0, replaces --requests for the lookup phase; the
	// baseline repeats exactly as many lookups as Roster answered.
	lookupLimit int64
}

func (d *driver) newPhase(name string) *phase {
	if d.beforePhase != nil {
		d.beforePhase(name)
	}
	fmt.Fprintf(d.log, "%s: %s …\n", d.t.name, name)
	return newPhase(name, d.t, d.capture)
}

// scenario runs the configured scenario and returns its phases in order.
func (d *driver) scenario(ctx context.Context) []*phase {
	switch d.cfg.Scenario {
	case "sync":
		p, _ := d.sync(ctx, phaseSync)
		return []*phase{p}
	case "seed":
		return []*phase{d.seed(ctx)}
	case "lookup":
		return []*phase{d.lookup(ctx)}
	case "groups":
		return d.groups(ctx, nil)
	default: // "all"; config validation rejects anything else
		p, ids := d.sync(ctx, phaseSync)
		phases := []*phase{p}
		phases = append(phases, d.groups(ctx, ids)...)
		return append(phases, d.lookup(ctx))
	}
}

// listClassifier parses a SCIM ListResponse into *lr and classifies it as a
// hit or a miss; an unreadable body is neither.
func listClassifier(lr *listResponse) func(reply) int {
	return func(r reply) int {
		if err := json.Unmarshal(r.body, lr); err != nil {
			return variantNone
		}
		if lr.TotalResults > 0 {
			return variantHit
		}
		return variantMiss
	}
}

// sync is the Entra initial cycle: look each user up by userName and
// create the ones that are missing. ids[i] receives the id of user
// Start+i. Users/s counts users that ended found or created.
func (d *driver) sync(ctx context.Context, name string) (*phase, []string) {
	p := d.newPhase(name)
	ids := make([]string, d.cfg.Users)
	stop := p.progress(d.log, d.cfg.Progress, 0)
	defer stop()
	p.run(ctx, d.cfg.Concurrency, int64(d.cfg.Users), func(ctx context.Context, w *worker, job int64) {
		person := d.pop.person(d.cfg.Start + int(job))
		var lr listResponse
		r, ok := w.call(ctx, opFindUser, http.MethodGet, filterPath("Users", "userName", person.userName), nil, listClassifier(&lr))
		if !ok {
			return
		}
		if r.err != nil || isError(r.status) {
			p.count(counterFailed, 1)
			return
		}
		if lr.TotalResults > 0 && len(lr.Resources) > 0 {
			ids[job] = lr.Resources[0].ID
			p.count(counterFound, 1)
			return
		}
		if id, ok := d.createUser(ctx, w, person); ok {
			ids[job] = id
		}
	})
	return p, ids
}

// createUser POSTs the Entra body of person; ok is false when the user was
// not created (the failure is already counted).
func (d *driver) createUser(ctx context.Context, w *worker, person person) (string, bool) {
	body, err := entraUserBody(person)
	if err != nil {
		w.p.note("%v", err)
		w.p.count(counterFailed, 1)
		return "", false
	}
	r, ok := w.call(ctx, opCreateUser, http.MethodPost, "/Users", body, nil)
	if !ok {
		return "", false
	}
	var created resource
	if r.err != nil || isError(r.status) || json.Unmarshal(r.body, &created) != nil || created.ID == "" {
		w.p.count(counterFailed, 1)
		return "", false
	}
	w.p.count(counterCreated, 1)
	return created.ID, true
}

// seed creates users Start … Start+Users-1 by POST only, as fast as the
// server takes them; existing users come back as 409 errors.
func (d *driver) seed(ctx context.Context) *phase {
	p := d.newPhase(phaseSeed)
	stop := p.progress(d.log, d.cfg.Progress, int64(d.cfg.Users))
	defer stop()
	p.run(ctx, d.cfg.Concurrency, int64(d.cfg.Users), func(ctx context.Context, w *worker, job int64) {
		d.createUser(ctx, w, d.pop.person(d.cfg.Start+int(job)))
	})
	return p
}

// lookup is steady-state traffic: userName filters for random users of the
// population, until --duration or --requests is reached.
func (d *driver) lookup(ctx context.Context) *phase {
	p := d.newPhase(phaseLookup)
	limit := int64(-1)
	if d.cfg.Requests > 0 {
		limit = int64(d.cfg.Requests)
	}
	if d.lookupLimit > 0 {
		limit = d.lookupLimit
	}
	if d.cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.cfg.Duration)
		defer cancel()
	}
	stop := p.progress(d.log, d.cfg.Progress, max(limit, 0))
	defer stop()
	p.run(ctx, d.cfg.Concurrency, limit, func(ctx context.Context, w *worker, _ int64) {
		person := d.pop.person(d.cfg.Start + w.rng.IntN(d.cfg.Users))
		var lr listResponse
		w.call(ctx, opFindUser, http.MethodGet, filterPath("Users", "userName", person.userName), nil, listClassifier(&lr))
	})
	return p
}

// groups creates --groups groups Entra-style and fills them with PATCH Add
// batches, then measures adding one member to a big group against adding one
// to a 2-member group. Without ids (the groups scenario alone) it first runs
// a sync to find or create the users.
func (d *driver) groups(ctx context.Context, ids []string) []*phase {
	var phases []*phase
	if ids == nil {
		prep, got := d.sync(ctx, phasePrepare)
		phases = append(phases, prep)
		ids = got
	}
	members := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			members = append(members, id)
		}
	}
	phases = append(phases, d.fillGroups(ctx, members))
	return append(phases, d.bigGroup(ctx, members))
}

// createGroup does what Entra does for a new group: a displayName filter
// (members excluded), then POST. It returns "" when the group is missing.
func (d *driver) createGroup(ctx context.Context, w *worker, displayName string) string {
	var lr listResponse
	r, ok := w.call(ctx, opFindGroup, http.MethodGet, groupFilterPath(displayName), nil, listClassifier(&lr))
	if !ok || r.err != nil || isError(r.status) {
		return ""
	}
	if lr.TotalResults > 0 && len(lr.Resources) > 0 {
		return lr.Resources[0].ID
	}
	body, err := entraGroupBody(displayName, fmt.Sprintf("%08x-%s", hashString(displayName), d.runTag))
	if err != nil {
		w.p.note("%v", err)
		return ""
	}
	r, ok = w.call(ctx, opCreateGroup, http.MethodPost, "/Groups", body, nil)
	var created resource
	if !ok || r.err != nil || isError(r.status) || json.Unmarshal(r.body, &created) != nil {
		return ""
	}
	return created.ID
}

// addMembers sends one PATCH Add of ids to group gid and reports success.
func (d *driver) addMembers(ctx context.Context, w *worker, op, gid string, ids []string) bool {
	body, err := addMembersBody(ids)
	if err != nil {
		w.p.note("%v", err)
		return false
	}
	r, ok := w.call(ctx, op, http.MethodPatch, "/Groups/"+gid, body, nil)
	return ok && r.err == nil && !isError(r.status)
}

func (d *driver) groupName(kind string, n int) string {
	return fmt.Sprintf("%s %s %03d %s", d.cfg.Prefix, kind, n, d.runTag)
}

func (d *driver) fillGroups(ctx context.Context, members []string) *phase {
	p := d.newPhase(phaseGroups)
	stop := p.progress(d.log, d.cfg.Progress, 0)
	defer stop()
	gids := make([]string, d.cfg.Groups)
	p.run(ctx, d.cfg.Concurrency, int64(d.cfg.Groups), func(ctx context.Context, w *worker, job int64) {
		gids[job] = d.createGroup(ctx, w, d.groupName("team", int(job)))
	})
	m := min(d.cfg.GroupMembers, len(members))
	if m < d.cfg.GroupMembers {
		p.note("only %d users available: %d members per group instead of %d", len(members), m, d.cfg.GroupMembers)
	}
	if m == 0 || ctx.Err() != nil {
		return p
	}
	batches := (m + d.cfg.Batch - 1) / d.cfg.Batch
	g := len(gids)
	// Group-major interleaving: consecutive jobs go to different groups, so
	// workers rarely patch the same group at the same moment.
	p.run(ctx, d.cfg.Concurrency, int64(g*batches), func(ctx context.Context, w *worker, job int64) {
		group, batch := int(job)%g, int(job)/g
		if gids[group] == "" {
			return
		}
		lo, hi := batch*d.cfg.Batch, min((batch+1)*d.cfg.Batch, m)
		ids := make([]string, 0, hi-lo)
		for k := lo; k < hi; k++ {
			ids = append(ids, members[(group*m+k)%len(members)])
		}
		if d.addMembers(ctx, w, opAddMembers, gids[group], ids) {
			p.count("membersAdded", int64(len(ids)))
		}
	})
	return p
}

func (d *driver) bigGroup(ctx context.Context, members []string) *phase {
	p := d.newPhase(phaseBigGroup)
	k := d.cfg.BigGroupAdds
	n := min(d.cfg.BigGroup, len(members)-k)
	if d.cfg.BigGroup <= 0 || k <= 0 || n < 2 {
		p.note("skipped: needs --big-group ≥ 2 and --big-group-adds ≥ 1 with at least big-group+adds users (have %d)", len(members))
		return p
	}
	if n < d.cfg.BigGroup {
		p.note("only %d users available: big group has %d members instead of %d", len(members), n, d.cfg.BigGroup)
	}
	p.count("bigGroupSize", int64(n))
	var big, small string
	p.run(ctx, 1, 1, func(ctx context.Context, w *worker, _ int64) {
		big = d.createGroup(ctx, w, d.groupName("big", n))
		small = d.createGroup(ctx, w, d.groupName("small", 2))
		if small != "" {
			d.addMembers(ctx, w, opFillSmall, small, members[:2])
		}
	})
	if big == "" || small == "" {
		p.note("could not create the big and small groups")
		return p
	}
	batches := (n + d.cfg.Batch - 1) / d.cfg.Batch
	stop := p.progress(d.log, d.cfg.Progress, int64(batches))
	p.run(ctx, d.cfg.Concurrency, int64(batches), func(ctx context.Context, w *worker, job int64) {
		lo, hi := int(job)*d.cfg.Batch, min(int(job+1)*d.cfg.Batch, n)
		d.addMembers(ctx, w, opFillBig, big, members[lo:hi])
	})
	stop()
	// One at a time and interleaved, so both groups see the same noise and
	// the only difference is the size of the group.
	p.run(ctx, 1, int64(2*k), func(ctx context.Context, w *worker, job int64) {
		id := members[n+int(job/2)]
		if job%2 == 0 {
			d.addMembers(ctx, w, opAddOneBig, big, []string{id})
		} else {
			d.addMembers(ctx, w, opAddOneSmall, small, []string{id})
		}
	})
	return p
}

// phaseUsers is the number of users a phase found or created.
func phaseUsers(p *phase) int64 {
	return p.counters[counterFound] + p.counters[counterCreated]
}
