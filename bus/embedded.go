package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"github.com/nats-io/nats-server/v2/server"
)

// ErrStoreLocked is returned by Open when another process runs an
// embedded server on the same store dir. nats-server does not lock its
// store, and two servers writing one store corrupt it.
var ErrStoreLocked = errors.New("store dir is in use by another hotline serve")

// storeLockFile is the file in the store dir an embedded server holds
// an exclusive lock on while it runs. It holds the holder's pid.
const storeLockFile = "hotline.lock"

// storeLock is an embedded server's hold on its store dir.
type storeLock struct {
	fl   *flock.Flock
	once sync.Once
}

// lockStore takes the store dir's lock without waiting: a second serve
// on the same store must fail at once, not hang until the first stops.
func lockStore(dir string) (*storeLock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	path := filepath.Join(dir, storeLockFile)
	fl := flock.New(path)
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("store lock %s: %w", path, err)
	}
	if !ok {
		holder := "another process"
		if pid, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(pid))) > 0 {
			holder = "pid " + strings.TrimSpace(string(pid))
		}
		return nil, fmt.Errorf("%s: %w (%s holds %s)", dir, ErrStoreLocked, holder, storeLockFile)
	}
	// Only for the message above: the lock is what excludes, so a pid
	// that could not be written costs nothing but the hint.
	_ = os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	return &storeLock{fl: fl}, nil
}

// release lets another process open the store; it is safe to call more
// than once.
func (l *storeLock) release() {
	if l == nil {
		return
	}
	l.once.Do(func() { _ = l.fl.Unlock() })
}

// startEmbedded runs a single JetStream-enabled nats-server inside this
// process. Clients inside the process connect through an in-memory pipe;
// a TCP port is opened only when cfg.Listen asks for one (so that
// `nats sub 'hotline.>'` works while debugging). onWriteError is called
// for every failed write the server logs, so the storage watchdog looks
// at once rather than at its next tick. The store stays locked until
// the caller releases the lock, after the server has shut down.
func startEmbedded(cfg Config, log *slog.Logger, onWriteError func()) (*server.Server, *server.Options, *storeLock, error) {
	if cfg.StoreDir == "" {
		return nil, nil, nil, fmt.Errorf("store dir is required for the embedded server")
	}
	lock, err := lockStore(cfg.StoreDir)
	if err != nil {
		return nil, nil, nil, err
	}
	opts := &server.Options{
		ServerName: "hotline",
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		// The process installs its own signal handlers and shuts the
		// server down in order; the server's would race them.
		NoSigs:     true,
		DontListen: cfg.Listen == "",
		// Every hotline stream is on disk; the memory store only
		// serves the server's own internals, so keep it small.
		JetStreamMaxMemory: 64 << 20,
	}
	if cfg.Listen != "" {
		host, portStr, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			lock.release()
			return nil, nil, nil, fmt.Errorf("listen %q: %w", cfg.Listen, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			lock.release()
			return nil, nil, nil, fmt.Errorf("listen %q: port: %w", cfg.Listen, err)
		}
		if port == 0 {
			// Port 0 means 4222 to nats-server; -1 asks for a free one.
			port = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, port
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		lock.release()
		return nil, nil, nil, err
	}
	srv.SetLoggerV2(serverLogger{log: log.With("component", "nats-server"), onWriteError: onWriteError}, false, false, false)
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		lock.release()
		return nil, nil, nil, fmt.Errorf("not ready for connections after 10s (store dir %s)", cfg.StoreDir)
	}
	if cfg.Listen != "" {
		log.Info("embedded nats listening", "addr", srv.Addr().String())
	}
	return srv, opts, lock, nil
}

// jetStreamConfig is the configuration the server starts JetStream with
// from opts, for starting it again in the same server. MaxStore stays as
// configured (0: derived from the free space, plus what the store holds).
func jetStreamConfig(opts *server.Options) *server.JetStreamConfig {
	return &server.JetStreamConfig{
		StoreDir:     opts.StoreDir, // EnableJetStream appends "jetstream" itself
		SyncInterval: opts.SyncInterval,
		SyncAlways:   opts.SyncAlways,
		Strict:       !opts.NoJetStreamStrict,
		MaxMemory:    opts.JetStreamMaxMemory,
		MaxStore:     opts.JetStreamMaxStore,
		Domain:       opts.JetStreamDomain,
		CompressOK:   true,
		UniqueTag:    opts.JetStreamUniqueTag,
	}
}

// serverLogger routes nats-server's printf-style logging into slog.
type serverLogger struct {
	log          *slog.Logger
	onWriteError func()
}

// writeError reports whether a server error line is about a failed
// write. The server logs one for every write a broken stream refuses;
// the bus's storage watchdog logs the fault once as an error, so these
// go out as warnings and wake the watchdog.
func (l serverLogger) writeError(msg string) bool {
	if !strings.Contains(msg, "write error") && !strings.Contains(msg, "failed to store a msg") {
		return false
	}
	if l.onWriteError != nil {
		l.onWriteError()
	}
	return true
}

// Noticef goes to debug: the server's start-up banner is noise next to
// hotline's own "bus ready" line.
func (l serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l serverLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if l.writeError(msg) {
		l.log.Warn(msg)
		return
	}
	l.log.Error(msg)
}
func (l serverLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Tracef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
