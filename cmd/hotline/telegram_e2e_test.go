package main

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"hotline/adapters/telegram"
	"hotline/config"
	"hotline/envelope"
)

// TestServeTelegramWebhook configures a Telegram bot as an operator would
// and delivers an update to the gateway's public listener.
func TestServeTelegramWebhook(t *testing.T) {
	t.Parallel()
	cfg := telegramConfig(t, acceptingBotAPI(t), "7000000001:AAE-token-for-serve-test", "serve-test-secret")
	public, _, _ := startServe(t, cfg)

	post := func(secret string) (int, string) {
		update := `{"update_id":501,"message":{"message_id":9,"date":1764072000,"chat":{"id":42,"type":"private"},` +
			`"from":{"id":42,"is_bot":false,"first_name":"Ana","language_code":"pt-BR"},"text":"help"}}`
		req, _ := http.NewRequest(http.MethodPost, "http://"+public+"/webhooks/telegram/tg-main", strings.NewReader(update))
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := post(""); code != http.StatusUnauthorized {
		t.Fatalf("no secret: %d, want 401", code)
	}
	if code, _ := post("wrong-secret"); code != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d, want 401", code)
	}
	code, body := post("serve-test-secret")
	if code != 200 || !strings.Contains(body, `"method":"sendMessage"`) || !strings.Contains(body, "Pagamentos") {
		t.Fatalf("help from a pt-BR user: %d %s, want the Portuguese help as a sendMessage answer", code, body)
	}
}

// acceptingBotAPI is a fake Bot API that accepts every call.
func acceptingBotAPI(t *testing.T) string {
	t.Helper()
	return refusingBotAPI(t, new(atomic.Bool), new(atomic.Int32))
}

// telegramConfig is a test gateway answering in English with bot tg-main
// on the Bot API at apiBase.
func telegramConfig(t *testing.T, apiBase string, token envelope.Secret, webhookSecret envelope.Secret) config.Config {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	cfg.Router.DefaultLang = "en"
	addAccount(&cfg, telegram.Platform(), &telegram.Config{Account: "tg-main", APIBase: apiBase,
		Token: token, Mode: "webhook", WebhookSecret: webhookSecret})
	return cfg
}
