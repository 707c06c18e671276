package envelope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	type account struct {
		Name  string
		Token Secret
	}
	a := account{Name: "tg-main", Token: "123456:AAE-very-secret"}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%v %+v %#v %s ", a, a, a, a.Token)
	j, _ := json.Marshal(a)
	buf.Write(j)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "account", a, "token", a.Token)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "account", a, "token", a.Token)
	if strings.Contains(buf.String(), "very-secret") {
		t.Fatalf("secret leaked:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "[redacted]") {
		t.Fatalf("no redaction marker in:\n%s", buf.String())
	}
	if a.Token.Reveal() != "123456:AAE-very-secret" {
		t.Fatal("Reveal lost the value")
	}
}
