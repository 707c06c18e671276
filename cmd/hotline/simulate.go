package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"hotline/bus"
	"hotline/envelope"
)

// simulateRequest is a message as if a user had sent it on a platform.
type simulateRequest struct {
	Platform string `json:"platform"`
	Account  string `json:"account"`
	User     string `json:"user"`
	Text     string `json:"text"`
	LangHint string `json:"lang_hint,omitempty"`
}

type simulateResponse struct {
	MessageID string           `json:"message_id"`
	Replies   []envelope.Reply `json:"replies"`
}

// simulateHandler answers POST /admin/v1/simulate: it stores the message on
// HOTLINE_IN exactly as an adapter would, waits for the router's replies
// and returns them. Operators use it to see what users get in the current
// mode; newcomers use it to try hotline with no platform account.
func simulateHandler(b *bus.Bus) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req simulateRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			jsonError(w, http.StatusBadRequest, `body must be JSON: {"text": "help+ar", "platform": "webchat", "account": "demo", "user": "cli"}`)
			return
		}
		req.Platform = cmpOr(req.Platform, envelope.PlatformWebChat)
		req.Account = cmpOr(req.Account, "demo")
		req.User = cmpOr(req.User, "cli")
		now := time.Now().UTC()
		m := envelope.Message{
			ID: envelope.NewID(now), Platform: req.Platform, Account: req.Account, PlatformMsgID: "sim-" + envelope.NewID(now),
			Conversation: envelope.ConversationKey(req.Platform, req.Account, req.User), From: envelope.Party{ID: req.User},
			Kind: envelope.KindText, Text: req.Text, LangHint: req.LangHint, ReceivedAt: now,
			Meta: map[string]string{"simulated": "true"},
		}
		if err := m.Validate(); err != nil {
			jsonError(w, http.StatusBadRequest, err.Error())
			return
		}
		replies, err := publishAndCollect(r.Context(), b, &m)
		if err != nil {
			jsonError(w, http.StatusBadGateway, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(simulateResponse{MessageID: m.ID, Replies: replies})
	})
}

// publishAndCollect listens for replies to m before publishing it, then
// waits for the first reply and briefly for any that follow it.
func publishAndCollect(ctx context.Context, b *bus.Bus, m *envelope.Message) ([]envelope.Reply, error) {
	var mu sync.Mutex
	var replies []envelope.Reply
	first := make(chan struct{})
	var once sync.Once
	sub, err := b.Conn().Subscribe("hotline.out.>", func(msg *nats.Msg) {
		var rep envelope.Reply
		if envelope.Decode(msg.Data, &rep) != nil || rep.InReplyTo != m.ID {
			return
		}
		mu.Lock()
		replies = append(replies, rep)
		mu.Unlock()
		once.Do(func() { close(first) })
	})
	if err != nil {
		return nil, fmt.Errorf("simulate: subscribe: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if _, err := b.PublishInbound(ctx, m, nil); err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	select {
	case <-first:
		select {
		case <-time.After(300 * time.Millisecond): // a binding SMS, a second part
		case <-ctx.Done():
		}
	case <-time.After(5 * time.Second):
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]envelope.Reply(nil), replies...), nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (r *rootCommand) simulateCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 15 * time.Second}}
	var req simulateRequest
	cmd := &cobra.Command{
		Use:   "simulate TEXT...",
		Short: "Send a message to a running gateway as a user would, and print the replies",
		Example: "  hotline simulate help+ar\n" +
			"  hotline simulate --platform telegram --account tg-main --user 42 --lang-hint pt-BR ajuda",
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			req.Text = strings.Join(args, " ")
			var resp simulateResponse
			if err := client.do(http.MethodPost, "/admin/v1/simulate", req, &resp); err != nil {
				return err
			}
			out := c.OutOrStdout()
			if len(resp.Replies) == 0 {
				fmt.Fprintf(out, "(no reply within 5s; message %s is stored on HOTLINE_IN)\n", resp.MessageID)
				return nil
			}
			for _, rep := range resp.Replies {
				fmt.Fprintf(out, "→ %s/%s %s [%s %s]\n%s\n", rep.Platform, rep.Account, rep.To.ID, rep.Source, rep.Lang, rep.Text)
				for _, btn := range rep.Buttons {
					fmt.Fprintf(out, "  [%s] %s\n", btn.Data, btn.Label)
				}
			}
			return nil
		},
	}
	adminFlags(cmd, client)
	f := cmd.Flags()
	f.StringVar(&req.Platform, "platform", envelope.PlatformWebChat, "platform the message comes from")
	f.StringVar(&req.Account, "account", "demo", "account it was sent to")
	f.StringVar(&req.User, "user", "cli", "sender's platform user id")
	f.StringVar(&req.LangHint, "lang-hint", "", "the platform's language hint, e.g. pt-BR")
	return cmd
}

// jsonError answers like every admin endpoint: {"error": "..."}.
func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
