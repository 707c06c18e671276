package at

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

// readerPort is a port whose reads come from a fixed byte stream in small
// chunks and then fail; writes go nowhere.
type readerPort struct {
	r     io.Reader
	chunk int
}

func (p *readerPort) Read(b []byte) (int, error) {
	if len(b) > p.chunk {
		b = b[:p.chunk]
	}
	return p.r.Read(b)
}

func (p *readerPort) Write(b []byte) (int, error) { return len(b), nil }

// FuzzReader feeds any byte stream to a Conn with a command waiting: the
// reader never panics, holds no line longer than maxLine, Run returns when
// the stream ends, and the waiting command always ends (its final result,
// or ErrClosed). The watchdog only catches a deadlock; it asserts no speed.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"\r\nOK\r\n",
		"AT+CMGL=4\r\r\n+CMGL: 1,0,,24\r\n0791\r\n+CMTI: \"SM\",3\r\nOK\r\n",
		"\r\n> ",
		"\r\n>",
		"\r\n+CMT: ,24\r\n",
		"\r\n+CMS ERROR: 500\r\n",
		"\r\n+CME ERROR: \r\n",
		"\x00\x01\xff\r\r\n\n",
		string(bytes.Repeat([]byte{'A'}, 3000)) + "\r\nOK\r\n",
	} {
		f.Add([]byte(seed), uint8(7))
	}
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		c := New(&readerPort{r: bytes.NewReader(stream), chunk: int(chunk%64) + 1}, Options{Timeout: 10 * time.Second})
		result := make(chan error, 1)
		go func() {
			_, err := c.SendPDU(context.Background(), 5, "0000")
			result <- err
		}()
		runDone := make(chan error, 1)
		go func() { runDone <- c.Run(context.Background()) }()
		watchdog := time.NewTimer(5 * time.Second)
		defer watchdog.Stop()
		select {
		case <-runDone:
		case <-watchdog.C:
			t.Fatal("Run did not return at the end of the stream")
		}
		select {
		case err := <-result:
			var me *Error
			if err != nil && !errors.Is(err, ErrClosed) && !errors.As(err, &me) {
				t.Fatalf("command ended with %v", err)
			}
		case <-watchdog.C:
			t.Fatal("the waiting command never ended")
		}
	})
}

// FuzzLexer checks the lexer's bound on any input and chunking.
func FuzzLexer(f *testing.F) {
	f.Add([]byte("\r\nOK\r\n> x"), true)
	f.Add(bytes.Repeat([]byte{'9'}, 5000), false)
	f.Fuzz(func(t *testing.T, b []byte, wantPrompt bool) {
		var l lexer
		for len(b) > 0 {
			n := min(len(b), 1+int(b[0])%37)
			for _, tok := range l.feed(b[:n], wantPrompt) {
				if len(tok.line) > maxLine {
					t.Fatalf("line of %d bytes", len(tok.line))
				}
			}
			b = b[n:]
			if len(l.line) > maxLine {
				t.Fatalf("lexer holds %d bytes", len(l.line))
			}
		}
	})
}

// BenchmarkReader feeds a listing of 30 stored messages (header, PDU,
// a URC in the middle) through the reader, as AT+CMGL=4 returns it.
func BenchmarkReader(b *testing.B) {
	var listing bytes.Buffer
	for i := range 30 {
		fmt.Fprintf(&listing, "\r\n+CMGL: %d,0,,24\r\n07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07", i)
		if i == 15 {
			listing.WriteString("\r\n+CMTI: \"SM\",31")
		}
	}
	listing.WriteString("\r\n\r\nOK\r\n")
	stream := listing.Bytes()
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		var lex lexer
		var cr classifier
		c := New(&readerPort{r: bytes.NewReader(nil), chunk: 1}, Options{})
		p := &pending{command: "AT+CMGL=4", shown: "AT+CMGL=4", prefix: "+CMGL", prompt: make(chan struct{}), final: make(chan error, 1)}
		c.cur.Store(p)
		for len(stream) > 0 {
			n := min(len(stream), 512)
			for _, t := range lex.feed(stream[:n], false) {
				c.handle(&cr, t)
			}
			stream = stream[n:]
		}
		stream = listing.Bytes()
		if err := <-p.final; err != nil || len(p.lines) != 60 {
			b.Fatalf("final %v after %d lines", err, len(p.lines))
		}
	}
}
