# The toolchain go.mod names (the go command fetches it); see README, Start.
export GOTOOLCHAIN ?= go1.27.3

.PHONY: test run build fuzz bench vuln screenshots

test: ## the same test command CI runs
	go test -race ./...

run:
	go run ./cmd/hotline serve

vuln: ## govulncheck against an offline database built from golang.org/x/vulndb
	scripts/vuln.sh ./...

screenshots: ## the console and chat pictures in docs/img, from the browser tests (needs Chromium)
	HOTLINE_SCREENSHOTS=$(CURDIR)/docs/img go test ./cmd/hotline -run 'TestBrowser' -count=1

build:
	CGO_ENABLED=0 go build -trimpath -o bin/hotline ./cmd/hotline

bench:
	go test -run '^$$' -bench . -benchtime 3s ./bus
	go test -run '^$$' -bench . -benchtime 20000x ./router
	go test -run '^$$' -bench SocketIntake -benchtime 3s ./adapters/webchat
	go run ./cmd/hotline bench

fuzz:
	go test -run '^$$' -fuzz FuzzDecodeMessage -fuzztime 30s ./envelope
	go test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./router
	go test -run '^$$' -fuzz FuzzParseClientFrame -fuzztime 30s ./adapters/webchat
	go test -run '^$$' -fuzz FuzzReader -fuzztime 30s ./adapters/sms/modem/at
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 30s ./adapters/sms/modem/pdu
	go test -run '^$$' -fuzz FuzzSeptets -fuzztime 30s ./adapters/sms/gsm
	go test -run '^$$' -fuzz FuzzSubmitText -fuzztime 30s ./adapters/sms/modem/pdu
	go test -run '^$$' -fuzz FuzzDeliverRoundTrip -fuzztime 30s ./adapters/sms/modem/pdu
