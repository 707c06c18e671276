package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"hotline/envelope"
)

// TestExitCodes is not parallel: its cases change the working
// directory and the environment, which the whole process shares.
func TestExitCodes(t *testing.T) {
	badFile := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badFile, []byte("accounts: {telegram: [{name: tg, mode: poll}]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Five different mistakes, each on its own line: one run names them all.
	fiveFile := filepath.Join(t.TempDir(), "five.yaml")
	five := "http:\n  shutdown_timeout: 5 minutes\nnats:\n  replicas: three\n  urll: nats://x\n" +
		"router:\n  default_lang: klingon\nfallback:\n  sms_account: sms-cn\n"
	if err := os.WriteFile(fiveFile, []byte(five), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stderr string
		stdout string
	}{
		{"version", []string{"version"}, nil, 0, "", "hotline "},
		{"unknown flag", []string{"serve", "--bogus"}, nil, 2, "unknown flag: --bogus", ""},
		{"unknown command", []string{"serv"}, nil, 2, `unknown command "serv"`, ""},
		{"bad config file", []string{"serve", "--config", badFile}, nil, 2, "accounts.telegram[0].token: required", ""},
		{"missing config file", []string{"serve", "--config", "/nonexistent/hotline.yaml"}, nil, 2, "/nonexistent/hotline.yaml", ""},
		{"five mistakes in one run", []string{"config", "--config", fiveFile}, nil, 2, "five.yaml:2: http.shutdown_timeout: \"5 minutes\" is not a duration", ""},
		{"five mistakes: the fifth", []string{"config", "--config", fiveFile}, nil, 2, "five.yaml:9: fallback.sms_account: \"sms-cn\" is not one of accounts.sms", ""},
		{"five mistakes: a language", []string{"config", "--config", fiveFile}, nil, 2, "five.yaml:7: router.default_lang: \"klingon\" is not a language hotline has texts for", ""},
		{"five mistakes: count", []string{"config", "--config", fiveFile}, nil, 2, "config: 5 problems:", ""},
		{"a misspelt variable is named", []string{"config"}, map[string]string{"HOTLINE_HTTP_LISTN": ":9"}, 0, "HOTLINE_HTTP_LISTN is ignored", ""},
		{"bad env value", []string{"config"}, map[string]string{"HOTLINE_NATS_REPLICAS": "9"}, 2, "nats.replicas: 9 is outside 1..5", ""},
		{"bad log format flag", []string{"serve", "--log-format", "xml"}, nil, 2, `"xml" is not auto, text or json`, ""},
		{"admin API unreachable: the hint", []string{"mode", "ls", "--admin-url", "http://127.0.0.1:1"}, nil, 1, "is `hotline serve` running there?", ""},
		{"admin API unreachable: the URL tried, from the env", []string{"handoff", "ls"}, map[string]string{"HOTLINE_ADMIN_URL": "http://127.0.0.1:9"}, 1, "no answer from http://127.0.0.1:9: dial tcp", ""},
		{"health of a gateway that is not there", []string{"health", "--url", "http://127.0.0.1:1/readyz"}, nil, 1, "health: no answer from http://127.0.0.1:1/readyz", ""},
		{"unknown output format", []string{"review", "ls", "-o", "yaml"}, nil, 2, "want table or json", ""},
		{"config prints redacted", []string{"config"}, map[string]string{"HOTLINE_HTTP_ADMIN_TOKEN": "printed-never-0123456789"}, 0, "", "admin_token: '[redacted]'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) || !strings.Contains(stdout.String(), tc.stdout) {
				t.Fatalf("stdout %q stderr %q, want them to contain %q and %q", stdout.String(), stderr.String(), tc.stdout, tc.stderr)
			}
			if strings.Contains(stdout.String()+stderr.String(), "printed-never") {
				t.Fatal("admin token printed")
			}
		})
	}
}

// TestHelpShowsOneDefault: a flag whose default is worked out when the
// command runs ($USER) says so once, not also as the value it had when
// the help was printed.
func TestHelpShowsOneDefault(t *testing.T) {
	for _, args := range [][]string{{"mode", "set", "--help"}, {"mode", "clear", "--help"}, {"handoff", "ls", "--help"}, {"review", "ls", "--help"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		for line := range strings.Lines(stdout.String()) {
			if strings.Count(line, "(default") > 1 {
				t.Errorf("hotline %s: %q", strings.Join(args, " "), line)
			}
		}
		if !strings.Contains(stdout.String(), "(default $USER)") {
			t.Errorf("hotline %s does not say who acts by default:\n%s", strings.Join(args, " "), stdout.String())
		}
	}
}

// TestBinaryServeSIGTERMRestart runs the real binary the way a newcomer
// does, with no config file: it must become ready, exit 0 on SIGTERM, and
// find its stream contents again on the next start.
func TestBinaryServeSIGTERMRestart(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "hotline")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	workdir := t.TempDir()
	var natsAddr string

	start := func() (*exec.Cmd, string, *syncBuffer) {
		// A fresh client port each start: the last one is free since
		// the stop, and a parallel test may hold it now.
		natsAddr = freeAddr(t)
		cmd := exec.Command(bin, "serve", "--log-format", "json")
		cmd.Dir = workdir
		cmd.Env = append(os.Environ(),
			"HOTLINE_HTTP_LISTEN=127.0.0.1:0", "HOTLINE_HTTP_ADMIN_LISTEN=127.0.0.1:0", "HOTLINE_NATS_LISTEN="+natsAddr)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		logs := &syncBuffer{}
		public := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				logs.Write(append(sc.Bytes(), '\n'))
				var line struct{ Msg, Public string }
				if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "hotline serving" {
					public <- strings.TrimPrefix(line.Public, "http://")
				}
			}
		}()
		select {
		case addr := <-public:
			return cmd, addr, logs
		case <-time.After(30 * time.Second):
			t.Fatalf("no 'hotline serving' line within 30s")
		}
		return nil, "", nil
	}
	waitReady := func(addr string) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, _ := getQuiet("http://" + addr + "/readyz")
			if code == 200 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz not 200 within 10s (last %d)", code)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	stopTERM := func(cmd *exec.Cmd, logs *syncBuffer) {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v, want status 0\n%s", err, logs)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no exit within 20s of SIGTERM")
		}
	}
	streamMsgs := func() uint64 {
		nc, err := nats.Connect("nats://" + natsAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		resp, err := nc.Request("$JS.API.STREAM.INFO.HOTLINE_IN", nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			State struct{ Messages uint64 } `json:"state"`
		}
		if err := json.Unmarshal(resp.Data, &info); err != nil {
			t.Fatal(err)
		}
		return info.State.Messages
	}

	cmd, addr, logs := start()
	waitReady(addr)
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	msg := &nats.Msg{Subject: "hotline.in.webchat.demo", Data: []byte("help"), Header: nats.Header{envelope.HeaderMsgID: {"wc-1"}}}
	if _, err := nc.RequestMsg(msg, 5*time.Second); err != nil {
		t.Fatalf("publish: %v", err)
	}
	nc.Close()
	stopTERM(cmd, logs)
	if _, err := os.Stat(filepath.Join(workdir, "data", "nats", "jetstream")); err != nil {
		t.Fatalf("default store dir not used: %v", err)
	}

	cmd, addr, logs = start()
	waitReady(addr)
	if got := streamMsgs(); got != 1 {
		t.Fatalf("HOTLINE_IN holds %d messages after restart, want 1", got)
	}
	stopTERM(cmd, logs)
}

// syncBuffer collects a child's log lines from one goroutine while the
// test may print them from another.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func getQuiet(url string) (int, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
