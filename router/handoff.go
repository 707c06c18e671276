package router

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/envelope"
	"hotline/httpjson"
)

// Handoff states.
const (
	StateOpen    = "open"
	StateClaimed = "claimed"
	StateClosed  = "closed"
)

// HandoffState is a handoff as agents work it.
type HandoffState struct {
	envelope.Handoff
	State     string    `json:"state"`
	Agent     string    `json:"agent,omitempty"`
	ClaimedAt time.Time `json:"claimed_at,omitzero"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	Replies   int       `json:"replies,omitempty"`
	Ticket    string    `json:"ticket"`
}

// recordHandoff creates the handoff's state once; a redelivery finds it
// there and leaves it as the agents have it.
func (r *Router) recordHandoff(ctx context.Context, h *envelope.Handoff) error {
	st := HandoffState{Handoff: *h, State: StateOpen, Ticket: Ticket(h.ID)}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("router: handoff state: %w", err)
	}
	if _, err := r.handoffs.Create(ctx, h.ID, data); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("router: handoff state: %w", err)
	}
	return nil
}

// Errors of the agents' API.
var (
	ErrHandoffNotFound = errors.New("handoff not found")
	ErrClaimedByOther  = errors.New("handoff claimed by another agent")
	ErrHandoffClosed   = errors.New("handoff is closed")
	ErrOptedOut        = errors.New("user opted out; nothing may be sent")
	// ErrAmbiguousTicket: two handoffs share a ticket (its 40 bits of
	// hash make that rare, not impossible); the full id tells them apart.
	ErrAmbiguousTicket = errors.New("ticket matches more than one handoff; use the full id")
)

// ResolveHandoff turns what an agent typed into a handoff id: the id
// itself, or the 8-character ticket the user was given and reads out
// (Ticket), in either case and with Crockford's look-alikes (I and L for
// 1, O for 0). A ticket is found by scanning the bucket's keys: at most
// 30 days of handoffs, the same walk ListHandoffs makes.
func (r *Router) ResolveHandoff(ctx context.Context, ref string) (string, error) {
	ref = strings.NewReplacer("I", "1", "L", "1", "O", "0").Replace(strings.ToUpper(strings.TrimSpace(ref)))
	if len(ref) != ticketLen {
		return ref, nil // an id, or nothing GetHandoff will find
	}
	lister, err := r.handoffs.ListKeys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return "", ErrHandoffNotFound
	}
	if err != nil {
		return "", fmt.Errorf("handoff lookup: %w", err)
	}
	defer func() { _ = lister.Stop() }()
	var found []string
	for key := range lister.Keys() {
		if len(key) > ticketLen && Ticket(key) == ref {
			found = append(found, key)
		}
	}
	switch len(found) {
	case 0:
		return "", ErrHandoffNotFound
	case 1:
		return found[0], nil
	}
	slices.Sort(found)
	return "", fmt.Errorf("%w: %s", ErrAmbiguousTicket, strings.Join(found, ", "))
}

// GetHandoff returns one handoff's state and its KV revision.
func (r *Router) GetHandoff(ctx context.Context, id string) (HandoffState, uint64, error) {
	if _, err := envelope.ParseIDTime(id); err != nil {
		return HandoffState{}, 0, ErrHandoffNotFound
	}
	e, err := r.handoffs.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return HandoffState{}, 0, ErrHandoffNotFound
	}
	if err != nil {
		return HandoffState{}, 0, fmt.Errorf("handoff get: %w", err)
	}
	var st HandoffState
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return HandoffState{}, 0, fmt.Errorf("handoff decode: %w", err)
	}
	return st, e.Revision(), nil
}

// ListHandoffs returns handoffs in the given state ("" for all), most
// urgent first, then oldest first.
func (r *Router) ListHandoffs(ctx context.Context, state string) ([]HandoffState, error) {
	lister, err := r.handoffs.ListKeys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("handoff list: %w", err)
	}
	// The lister stops itself once every key is read; Stop only matters
	// when leaving early and reports an error otherwise.
	defer func() { _ = lister.Stop() }()
	var out []HandoffState
	for key := range lister.Keys() {
		st, _, err := r.GetHandoff(ctx, key)
		if errors.Is(err, ErrHandoffNotFound) {
			continue // expired or deleted between list and get
		}
		if err != nil {
			return nil, fmt.Errorf("handoff list: %w", err)
		}
		if state == "" || st.State == state {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b HandoffState) int {
		if c := strings.Compare(string(a.Priority), string(b.Priority)); c != 0 {
			return c
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	return out, nil
}

// updateHandoff applies change under an optimistic revision check.
func (r *Router) updateHandoff(ctx context.Context, id string, change func(*HandoffState) error) (HandoffState, error) {
	for range 5 {
		st, rev, err := r.GetHandoff(ctx, id)
		if err != nil {
			return HandoffState{}, err
		}
		if err := change(&st); err != nil {
			return st, err
		}
		data, _ := json.Marshal(st)
		if _, err := r.handoffs.Update(ctx, id, data, rev); err != nil {
			if bus.IsConflict(err) {
				continue
			}
			return HandoffState{}, fmt.Errorf("handoff update: %w", err)
		}
		return st, nil
	}
	return HandoffState{}, fmt.Errorf("handoff %s: %w", id, errConflict)
}

// Claim assigns a handoff to agent. Claiming one's own claim again is fine.
func (r *Router) Claim(ctx context.Context, id, agent string) (HandoffState, error) {
	return r.updateHandoff(ctx, id, func(st *HandoffState) error {
		switch {
		case st.State == StateClosed:
			return ErrHandoffClosed
		case st.State == StateClaimed && st.Agent != agent:
			return fmt.Errorf("%w (%s)", ErrClaimedByOther, st.Agent)
		}
		if st.State != StateClaimed {
			st.ClaimedAt = r.now().UTC()
		}
		st.State, st.Agent = StateClaimed, agent
		return nil
	})
}

// Close ends a handoff.
func (r *Router) Close(ctx context.Context, id, agent string) (HandoffState, error) {
	return r.updateHandoff(ctx, id, func(st *HandoffState) error {
		if st.State == StateClaimed && st.Agent != agent {
			return fmt.Errorf("%w (%s)", ErrClaimedByOther, st.Agent)
		}
		st.State, st.ClosedAt = StateClosed, r.now().UTC()
		if st.Agent == "" {
			st.Agent = agent
		}
		return nil
	})
}

// AgentReply sends an agent's text to the user's platform as a normal
// reply (through HOTLINE_OUT and the outbound loop), claiming the handoff
// if nobody has, and adds it to the conversation's history. A request
// repeated with the same idempotency key (a double click, a client retry)
// yields the same reply id, which the stream stores once.
func (r *Router) AgentReply(ctx context.Context, id, agent, text, idempotencyKey string) (envelope.Reply, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return envelope.Reply{}, errors.New("reply text is empty")
	}
	cur, _, err := r.GetHandoff(ctx, id)
	if err != nil {
		return envelope.Reply{}, err
	}
	// Refuse before claiming: a reply that cannot be sent must not
	// leave the handoff claimed.
	if opted, _ := r.optedOut(ctx, cur.Conversation); opted {
		return envelope.Reply{}, ErrOptedOut
	}
	st, err := r.Claim(ctx, id, agent)
	if err != nil {
		return envelope.Reply{}, err
	}
	now := r.now().UTC()
	replyID := envelope.NewID(now)
	if idempotencyKey != "" {
		replyID = envelope.DeriveID(id, "agent."+idempotencyKey)
	}
	rep := envelope.Reply{
		ID:           replyID,
		Platform:     st.Platform,
		Account:      st.Account,
		Conversation: st.Conversation,
		To:           st.User,
		Text:         text,
		Lang:         st.Lang,
		Dir:          r.catalog.Lang(st.Lang).Dir,
		Source:       envelope.SourceAgent,
		Agent:        agent,
		CreatedAt:    now,
	}
	ack, err := r.bus.PublishReply(ctx, &rep)
	if err != nil {
		return envelope.Reply{}, fmt.Errorf("agent reply: %w", err)
	}
	if ack.Duplicate {
		return rep, nil // a repeat of a request already handled
	}
	for range 5 {
		sess, rev, err := r.sessions.load(ctx, st.Conversation)
		if err != nil {
			break
		}
		sess.addTurn("agent", text, now)
		if _, err := r.sessions.store(ctx, sess, rev); !errors.Is(err, errConflict) {
			break
		}
	}
	if _, err := r.updateHandoff(ctx, id, func(s *HandoffState) error { s.Replies++; return nil }); err != nil {
		r.log.Warn("handoff reply count", "handoff", id, "err", err)
	}
	return rep, nil
}

// AdminHandler serves the agents' API under /admin/v1/handoffs. The
// caller mounts it behind the admin bearer-token check.
func (r *Router) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v1/handoffs", func(w http.ResponseWriter, req *http.Request) {
		state := req.URL.Query().Get("state")
		list, err := r.ListHandoffs(req.Context(), state)
		if err != nil {
			writeError(w, err)
			return
		}
		if list == nil {
			list = []HandoffState{}
		}
		httpjson.Write(w, http.StatusOK, list)
	})
	mux.HandleFunc("GET /admin/v1/handoffs/{id}", func(w http.ResponseWriter, req *http.Request) {
		id, err := r.ResolveHandoff(req.Context(), req.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		st, _, err := r.GetHandoff(req.Context(), id)
		if err != nil {
			writeError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST /admin/v1/handoffs/next", func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Agent string `json:"agent"`
		}
		if err := httpjson.Decode(w, req, 64<<10, &body); err != nil || strings.TrimSpace(body.Agent) == "" {
			httpjson.Error(w, http.StatusBadRequest, `body must be JSON: {"agent": "<name>"}`)
			return
		}
		st, err := r.NextHandoff(req.Context(), body.Agent)
		if err != nil {
			writeError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST /admin/v1/handoffs/{id}/{action}", func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Agent          string `json:"agent"`
			Text           string `json:"text"`
			Canned         string `json:"canned"` // a canned reply's id, filled for this handoff
			IdempotencyKey string `json:"idempotency_key"`
		}
		if err := httpjson.Decode(w, req, 64<<10, &body); err != nil {
			httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON: {\"agent\": \"...\", \"text\": \"...\"}"})
			return
		}
		if strings.TrimSpace(body.Agent) == "" {
			httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": "agent is required"})
			return
		}
		id, err := r.ResolveHandoff(req.Context(), req.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		var v any
		switch req.PathValue("action") {
		case "claim":
			v, err = r.Claim(req.Context(), id, body.Agent)
		case "close":
			v, err = r.Close(req.Context(), id, body.Agent)
		case "reply":
			if body.Canned != "" {
				text, err := r.cannedText(req.Context(), id, body.Canned, body.Agent)
				if err != nil {
					writeError(w, err)
					return
				}
				body.Text = text
			}
			if strings.TrimSpace(body.Text) == "" {
				httpjson.Write(w, http.StatusBadRequest, map[string]string{"error": "text (or canned) is required"})
				return
			}
			key := body.IdempotencyKey
			if key == "" {
				key = req.Header.Get("Idempotency-Key")
			}
			v, err = r.AgentReply(req.Context(), id, body.Agent, body.Text, key)
		default:
			httpjson.Write(w, http.StatusNotFound, map[string]string{"error": "unknown action; use claim, reply or close"})
			return
		}
		if err != nil {
			writeError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, v)
	})
	mux.HandleFunc("GET /admin/v1/canned", func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		lang, name, ticket := q.Get("lang"), "", ""
		if ref := q.Get("handoff"); ref != "" {
			st, err := r.handoffByRef(req.Context(), ref)
			if err != nil {
				writeError(w, err)
				return
			}
			lang, name, ticket = cmp.Or(lang, st.Lang), st.User.Name, st.Ticket
		}
		httpjson.Write(w, http.StatusOK, r.canned.For(cmp.Or(lang, r.cfg.DefaultLang), name, ticket, q.Get("agent")))
	})
	r.tierRoutes(mux)
	r.faqRoutes(mux)
	r.textRoutes(mux)
	return mux
}

// handoffByRef is the handoff an agent named by id or ticket.
func (r *Router) handoffByRef(ctx context.Context, ref string) (HandoffState, error) {
	id, err := r.ResolveHandoff(ctx, ref)
	if err != nil {
		return HandoffState{}, err
	}
	st, _, err := r.GetHandoff(ctx, id)
	return st, err
}

// ErrUnknownCanned: no canned reply has that id.
var ErrUnknownCanned = errors.New("unknown canned reply")

// cannedText is canned reply id, in the handoff's language, filled for it.
func (r *Router) cannedText(ctx context.Context, handoffID, id, agent string) (string, error) {
	st, _, err := r.GetHandoff(ctx, handoffID)
	if err != nil {
		return "", err
	}
	rep, ok := r.canned.Find(id, st.Lang, st.User.Name, st.Ticket, agent)
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownCanned, id)
	}
	return rep.Text, nil
}

// tierRoutes serve the customer tiers:
//
//	GET    /admin/v1/tiers
//	PUT    /admin/v1/tiers/{conversation}   {"tier", "by", "reason"}
//	DELETE /admin/v1/tiers/{conversation}?by=&reason=
func (r *Router) tierRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/v1/tiers", func(w http.ResponseWriter, req *http.Request) {
		list, err := r.Tiers(req.Context())
		if err != nil {
			writeError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, list)
	})
	mux.HandleFunc("PUT /admin/v1/tiers/{conversation}", func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Tier   string `json:"tier"`
			By     string `json:"by"`
			Reason string `json:"reason"`
		}
		if err := httpjson.Decode(w, req, 64<<10, &body); err != nil || body.Tier == "" || strings.TrimSpace(body.By) == "" {
			httpjson.Error(w, http.StatusBadRequest, `body must be JSON: {"tier": "vip", "by": "<operator>", "reason": "..."}; tier and by are required`)
			return
		}
		st, err := r.SetTier(req.Context(), req.PathValue("conversation"), body.Tier, body.By, body.Reason)
		if err != nil {
			writeError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, st)
	})
	mux.HandleFunc("DELETE /admin/v1/tiers/{conversation}", auditedDelete(func(req *http.Request, by, reason string) (any, error) {
		conversation := req.PathValue("conversation")
		return map[string]string{"conversation": conversation, "tier": ""}, r.ClearTier(req.Context(), conversation, by, reason)
	}))
}

// auditedDelete serves a DELETE of the agents' API whose query names who
// (by, required) and why (reason), both for the audit trail; remove does
// it and says what to answer.
func auditedDelete(remove func(req *http.Request, by, reason string) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		if strings.TrimSpace(q.Get("by")) == "" {
			httpjson.Error(w, http.StatusBadRequest, "by is required")
			return
		}
		v, err := remove(req, q.Get("by"), q.Get("reason"))
		if err != nil {
			writeError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, v)
	}
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrHandoffNotFound), errors.Is(err, ErrNoTier), errors.Is(err, ErrFAQNotFound), errors.Is(err, ErrNoHandoff), errors.Is(err, ErrTextNotEdited):
		code = http.StatusNotFound
	case errors.Is(err, ErrUnknownTier), errors.Is(err, ErrBadConversation), errors.Is(err, ErrUnknownCanned), errors.Is(err, ErrBadFAQ), errors.Is(err, ErrBadText):
		code = http.StatusBadRequest
	case errors.Is(err, ErrClaimedByOther), errors.Is(err, ErrHandoffClosed), errors.Is(err, ErrOptedOut), errors.Is(err, ErrAmbiguousTicket):
		code = http.StatusConflict
	}
	httpjson.Error(w, code, err.Error())
}
