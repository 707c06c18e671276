package at

// maxLine caps one line. The longest line a modem sends us is a PDU of 176
// octets (352 hex digits); a longer run without a line ending is noise, and
// is dropped rather than buffered without bound.
const maxLine = 1024

// token is one thing the modem said: a line, or the "> " prompt of
// AT+CMGS, which arrives without a line ending.
type token struct {
	line   string
	prompt bool
	// overlong marks a line cut at maxLine: noise, never a response.
	overlong bool
}

// lexer cuts the byte stream into tokens. It holds at most maxLine bytes
// whatever it is fed, so a stream of garbage cannot grow it.
type lexer struct {
	line     []byte
	overlong bool
}

// feed consumes b and returns the tokens it completes. A prompt is "> " at
// the start of a line; with wantPrompt a lone ">" counts too, since some
// modems leave out the space.
func (l *lexer) feed(b []byte, wantPrompt bool) []token {
	var out []token
	for _, c := range b {
		switch c {
		case '\r', '\n':
			if len(l.line) > 0 || l.overlong {
				out = append(out, token{line: string(l.line), overlong: l.overlong})
			}
			l.line, l.overlong = l.line[:0], false
			continue
		}
		if len(l.line) >= maxLine {
			l.overlong = true
			continue
		}
		l.line = append(l.line, c)
		if string(l.line) == "> " {
			out = append(out, token{prompt: true})
			l.line = l.line[:0]
		}
	}
	if wantPrompt && string(l.line) == ">" {
		out = append(out, token{prompt: true})
		l.line = l.line[:0]
	}
	return out
}
