package at

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeModem answers each command line with what answer returns for it,
// written in the chunks given (so a test can cut a prompt or a line in
// two). It records every command.
type fakeModem struct {
	t    *testing.T
	conn net.Conn

	mu       sync.Mutex
	commands []string
	urcs     []URC
}

// startFake connects a Conn to a fake modem whose answers come from
// answer: each returned chunk is written separately.
func startFake(t *testing.T, opts Options, answer func(cmd string) []string) (*Conn, *fakeModem) {
	t.Helper()
	host, dev := net.Pipe()
	f := &fakeModem{t: t, conn: dev}
	opts.URC = func(u URC) {
		f.mu.Lock()
		f.urcs = append(f.urcs, u)
		f.mu.Unlock()
	}
	c := New(host, opts)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { _ = c.Run(ctx); close(runDone) }()
	go f.serve(answer)
	t.Cleanup(func() {
		cancel()
		host.Close()
		dev.Close()
		<-runDone
	})
	return c, f
}

func (f *fakeModem) serve(answer func(cmd string) []string) {
	r := bufio.NewReader(f.conn)
	for {
		line, err := r.ReadString('\r')
		if err != nil {
			return
		}
		cmd := strings.TrimSpace(line)
		f.mu.Lock()
		f.commands = append(f.commands, cmd)
		f.mu.Unlock()
		for _, chunk := range answer(cmd) {
			if chunk == "<read-pdu>" { // consume a PDU up to Ctrl-Z
				pdu, err := r.ReadString(0x1A)
				if err != nil {
					return
				}
				f.mu.Lock()
				f.commands = append(f.commands, "pdu:"+strings.TrimSuffix(pdu, "\x1A"))
				f.mu.Unlock()
				continue
			}
			if _, err := io.WriteString(f.conn, chunk); err != nil {
				return
			}
		}
	}
}

func (f *fakeModem) seen() ([]string, []URC) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.commands...), append([]URC(nil), f.urcs...)
}

func TestCommand(t *testing.T) {
	tests := []struct {
		name      string
		command   string
		chunks    []string
		wantLines []string
		wantErr   string
		wantURCs  []URC
	}{
		{name: "ok", command: "AT", chunks: []string{"\r\nOK\r\n"}},
		{name: "answer", command: "AT+CSQ", chunks: []string{"\r\n+CSQ: 21,99\r\n\r\nOK\r\n"}, wantLines: []string{"+CSQ: 21,99"}},
		{name: "echo dropped", command: "AT+CSQ", chunks: []string{"AT+CSQ\r\r\n+CSQ: 21,99\r\n\r\nOK\r\n"}, wantLines: []string{"+CSQ: 21,99"}},
		{name: "URC between answer and OK", command: "AT+CMGR=1",
			chunks:    []string{"\r\n+CMGR: 0,,5\r\n0791AB\r\n", "\r\n+CMTI: \"SM\",2\r\n", "\r\nOK\r\n"},
			wantLines: []string{"+CMGR: 0,,5", "0791AB"}, wantURCs: []URC{{Name: "+CMTI", Args: `"SM",2`}}},
		{name: "+CMT carries the next line", command: "AT",
			chunks:   []string{"\r\n+CMT: ,24\r\n07911326\r\n\r\nOK\r\n"},
			wantURCs: []URC{{Name: "+CMT", Args: ",24", PDU: "07911326"}}},
		{name: "CREG is the answer to AT+CREG?", command: "AT+CREG?", chunks: []string{"\r\n+CREG: 0,1\r\nOK\r\n"}, wantLines: []string{"+CREG: 0,1"}},
		{name: "CREG is a URC otherwise", command: "AT+CSQ", chunks: []string{"\r\n+CREG: 5\r\n+CSQ: 9,0\r\nOK\r\n"},
			wantLines: []string{"+CSQ: 9,0"}, wantURCs: []URC{{Name: "+CREG", Args: "5"}}},
		{name: "noise dropped", command: "AT+CSQ", chunks: []string{"\r\n\x00\xff\xfe\r\n+CSQ: 3,0\r\nOK\r\n"}, wantLines: []string{"+CSQ: 3,0"}},
		{name: "line cut between reads", command: "AT+CSQ", chunks: []string{"\r\n+CS", "Q: 1", "7,0\r", "\nO", "K\r\n"}, wantLines: []string{"+CSQ: 17,0"}},
		{name: "ERROR", command: "AT+FOO", chunks: []string{"\r\nERROR\r\n"}, wantErr: "at: AT+FOO: ERROR"},
		{name: "CMS numeric", command: "AT+CMGR=9", chunks: []string{"\r\n+CMS ERROR: 321\r\n"}, wantErr: "+CMS ERROR 321 (invalid memory index)"},
		{name: "CMS verbose", command: "AT+CMGR=9", chunks: []string{"\r\n+CMS ERROR: Invalid memory index\r\n"}, wantErr: "+CMS ERROR: Invalid memory index"},
		{name: "CME, PIN masked", command: `AT+CPIN="0000"`, chunks: []string{"\r\n+CME ERROR: 16\r\n"}, wantErr: `at: AT+CPIN=****: +CME ERROR 16 (incorrect password)`},
		{name: "RP cause", command: "AT+CMGS=1", chunks: []string{"\r\n+CMS ERROR: 42\r\n"}, wantErr: "network: congestion"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, f := startFake(t, Options{}, func(cmd string) []string {
				if cmd == "ATE0" {
					return []string{"\r\nOK\r\n"}
				}
				return tc.chunks
			})
			res, err := c.Command(context.Background(), tc.command)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				if _, ok := IsModemError(err); !ok {
					t.Fatalf("err %v is not an *Error", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.Join(res.Lines, "|") != strings.Join(tc.wantLines, "|") {
				t.Fatalf("lines = %q, want %q", res.Lines, tc.wantLines)
			}
			// A follow-up command proves the Conn is still in step, and
			// that URCs were handed over before its answer.
			if _, err := c.Command(context.Background(), "ATE0"); err != nil {
				t.Fatal(err)
			}
			_, urcs := f.seen()
			if len(urcs) != len(tc.wantURCs) {
				t.Fatalf("URCs = %+v, want %+v", urcs, tc.wantURCs)
			}
			for i := range urcs {
				if urcs[i] != tc.wantURCs[i] {
					t.Fatalf("URC %d = %+v, want %+v", i, urcs[i], tc.wantURCs[i])
				}
			}
		})
	}
}

func TestSendPDU(t *testing.T) {
	tests := []struct {
		name    string
		chunks  []string
		wantMR  string
		wantErr string
	}{
		{name: "prompt without line ending", chunks: []string{"\r\n> ", "<read-pdu>", "\r\n+CMGS: 12\r\n\r\nOK\r\n"}, wantMR: "12"},
		{name: "prompt cut in two", chunks: []string{"\r\n>", " ", "<read-pdu>", "\r\n+CMGS: 0\r\nOK\r\n"}, wantMR: "0"},
		{name: "prompt without space", chunks: []string{"\r\n>", "<read-pdu>", "\r\n+CMGS: 255\r\nOK\r\n"}, wantMR: "255"},
		{name: "refused before the prompt", chunks: []string{"\r\n+CMS ERROR: 304\r\n"}, wantErr: "invalid PDU mode parameter"},
		{name: "network refuses", chunks: []string{"\r\n> ", "<read-pdu>", "\r\n+CMS ERROR: 332\r\n"}, wantErr: "network timeout"},
		{name: "URC before the result", chunks: []string{"\r\n> ", "<read-pdu>", "\r\n+CDSI: \"SR\",1\r\n+CMGS: 7\r\nOK\r\n"}, wantMR: "7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, f := startFake(t, Options{}, func(cmd string) []string {
				if strings.HasPrefix(cmd, "AT+CMGS=") {
					return tc.chunks
				}
				return []string{"\r\nOK\r\n"}
			})
			res, err := c.SendPDU(context.Background(), 23, "0011000B916407281553F80000AA0AE8329BFD4697D9EC37")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if mr, _ := res.Value("+CMGS"); mr != tc.wantMR {
					t.Fatalf("+CMGS = %q, want %q", mr, tc.wantMR)
				}
			}
			if _, err := c.Command(context.Background(), "AT"); err != nil {
				t.Fatalf("next command: %v", err)
			}
			cmds, _ := f.seen()
			if cmds[0] != "AT+CMGS=23" {
				t.Fatalf("commands %q", cmds)
			}
			if tc.wantErr != "" && strings.Contains(tc.chunks[0], "ERROR") && len(cmds) != 2 {
				t.Fatalf("a PDU was written after a refusal: %q", cmds)
			}
		})
	}
}

func TestTimeoutBreaksTheConn(t *testing.T) {
	c, f := startFake(t, Options{Timeout: 50 * time.Millisecond}, func(cmd string) []string {
		if cmd == "AT+SLOW" {
			return nil // never answers
		}
		return []string{"\r\nOK\r\n"}
	})
	_, err := c.Command(context.Background(), "AT+SLOW")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if _, err := c.Command(context.Background(), "AT"); !errors.Is(err, ErrBroken) {
		t.Fatalf("after a timeout: %v, want ErrBroken", err)
	}
	if cmds, _ := f.seen(); len(cmds) != 1 {
		t.Fatalf("a broken Conn wrote %q", cmds)
	}
	if !c.Broken() {
		t.Fatal("Broken() = false")
	}
}

func TestPromptTimeoutSendsEscape(t *testing.T) {
	host, dev := net.Pipe()
	t.Cleanup(func() { host.Close(); dev.Close() })
	c := New(host, Options{Timeout: 50 * time.Millisecond})
	go func() { _ = c.Run(context.Background()) }()
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 64)
		var all []byte
		for !strings.Contains(string(all), "\x1B") {
			n, err := dev.Read(buf)
			if err != nil {
				return
			}
			all = append(all, buf[:n]...)
		}
		got <- all
	}()
	if _, err := c.SendPDU(context.Background(), 5, "00"); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if b := <-got; string(b) != "AT+CMGS=5\r\x1B" {
		t.Fatalf("wrote %q, want the command then ESC", b)
	}
}

func TestPortFailureEndsTheCommand(t *testing.T) {
	host, dev := net.Pipe()
	c := New(host, Options{Timeout: time.Minute})
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(context.Background()) }()
	go func() {
		buf := make([]byte, 64)
		_, _ = dev.Read(buf) // the command, then the device vanishes
		dev.Close()
	}()
	_, err := c.Command(context.Background(), "AT+CMGL=4")
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if err := <-runErr; err == nil {
		t.Fatal("Run returned nil after the port failed")
	}
	if _, err := c.Command(context.Background(), "AT"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	host.Close()
}

func TestAnswerPrefix(t *testing.T) {
	for cmd, want := range map[string]string{"AT+CREG?": "+CREG", `AT+CPIN="1234"`: "+CPIN", "AT+CSQ": "+CSQ",
		"ATE0": "", "AT": "", "at+cmgl=4": "+CMGL"} {
		if got := answerPrefix(cmd); got != want {
			t.Errorf("answerPrefix(%q) = %q, want %q", cmd, got, want)
		}
	}
}

// TestContextBoundsTheTurnNotTheCommand: a caller whose context ends while
// it waits for its turn writes nothing; one whose context ends after its
// command was written still gets the result, and the Conn is not broken.
func TestContextBoundsTheTurnNotTheCommand(t *testing.T) {
	release := make(chan struct{})
	c, f := startFake(t, Options{}, func(cmd string) []string {
		if cmd == "AT+SLOW" {
			<-release
		}
		return []string{"\r\nOK\r\n"}
	})
	slow := make(chan error, 1)
	go func() {
		_, err := c.Command(context.Background(), "AT+SLOW")
		slow <- err
	}()
	waitUntil(t, func() bool { cmds, _ := f.seen(); return len(cmds) == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Command(ctx, "AT+LATE"); !errors.Is(err, context.Canceled) {
		t.Fatalf("queued behind a command with a done context: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	written := make(chan error, 1)
	go func() {
		close(release)
		_, err := c.Command(ctx, "AT+NEXT")
		written <- err
	}()
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { cmds, _ := f.seen(); return len(cmds) == 2 })
	cancel()
	if err := <-written; err != nil {
		t.Fatalf("a written command whose context ended: %v", err)
	}
	if c.Broken() {
		t.Fatal("the Conn broke")
	}
	if cmds, _ := f.seen(); strings.Join(cmds, ",") != "AT+SLOW,AT+NEXT" {
		t.Fatalf("commands %q", cmds)
	}
}

func TestCMTWithoutItsPDULine(t *testing.T) {
	c, f := startFake(t, Options{}, func(string) []string {
		return []string{"\r\n+CMT: ,24\r\n\xff\xfe\r\n+CSQ: 9,0\r\nOK\r\n"}
	})
	res, err := c.Command(context.Background(), "AT+CSQ")
	if err != nil || len(res.Lines) != 1 {
		t.Fatalf("answer %q, %v", res.Lines, err)
	}
	if _, urcs := f.seen(); len(urcs) != 0 {
		t.Fatalf("URCs %+v from a garbled +CMT", urcs)
	}
}

// waitUntil spins until cond holds (package at does not import the bus).
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		runtime.Gosched()
	}
}
