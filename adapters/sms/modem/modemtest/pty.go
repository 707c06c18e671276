package modemtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// linkName mimics a udev /dev/serial/by-id name, which stays put while the
// /dev/ttyUSBn behind it changes.
const linkName = "usb-modemtest_PDU-SIM_0001-if02-port0"

// attachPoll is how often a pty nobody has open is checked for an opener.
const attachPoll = 5 * time.Millisecond

var (
	// ErrNoPTY means no pseudo-terminal could be opened (no /dev/ptmx).
	ErrNoPTY = errors.New("modemtest: no pseudo-terminal")
	// ErrVanished is returned by Vanish when the device is already gone and
	// by Reappear when it is still there.
	ErrVanished = errors.New("modemtest: device vanished")
	// ErrPTYClosed is returned by PTY methods after Close.
	ErrPTYClosed = errors.New("modemtest: pty closed")
)

// PTY is the simulated modem behind a pseudo-terminal. The code under test
// opens Path with go.bug.st/serial as it would open a USB modem; the slave
// starts in the kernel's cooked mode, as a fresh tty does, so the opener
// must set raw mode (serial.Open does).
//
// The Sim is served while the host has the device open; it sees the host's
// close as a real modem sees DTR drop, and its next open as a new
// connection to the same modem.
type PTY struct {
	sim    *Sim
	dir    string
	link   string
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	master *os.File // nil while vanished
	device string
	done   chan struct{} // closed when the serving goroutine ends
	closed bool
}

// Start is StartPTY for a test: transcript to t.Logf unless opts.Logf is
// set, Close at cleanup, and a skip when the system has no pseudo-terminals.
func Start(t testing.TB, opts Options) (*Sim, *PTY) {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	s := New(opts)
	p, err := s.StartPTY(context.Background())
	if errors.Is(err, ErrNoPTY) {
		t.Skipf("modemtest: skipping, cannot open /dev/ptmx: %v", err)
	}
	if err != nil {
		t.Fatalf("modemtest: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("modemtest: %v", err)
		}
	})
	return s, p
}

// StartPTY creates a pseudo-terminal and serves the modem on it until ctx
// ends or Close. Close releases the device and the link directory.
func (s *Sim) StartPTY(ctx context.Context) (*PTY, error) {
	dir, err := os.MkdirTemp("", "modemtest-")
	if err != nil {
		return nil, fmt.Errorf("modemtest: link directory: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &PTY{sim: s, dir: dir, link: filepath.Join(dir, linkName), ctx: ctx, cancel: cancel}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.appear(); err != nil {
		cancel()
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	return p, nil
}

// Path is the stable name of the device, a symbolic link like those in
// /dev/serial/by-id: it survives Vanish and Reappear, the device behind it
// does not. It does not exist while the device has vanished.
func (p *PTY) Path() string { return p.link }

// Device is the /dev/pts/N currently behind Path, "" while vanished.
func (p *PTY) Device() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.device
}

// Vanish unplugs the modem: the device and its link disappear, the host's
// reads and writes fail. The Sim keeps its SIM.
func (p *PTY) Vanish() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return ErrPTYClosed
	case p.master == nil:
		return ErrVanished
	}
	err := p.disappear()
	p.sim.logf("modemtest: device vanished")
	return err
}

// Reappear plugs the modem back as a re-enumerating USB modem does: a new
// device behind the same Path, and a modem that has rebooted (PowerCycle).
func (p *PTY) Reappear() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return ErrPTYClosed
	case p.master != nil:
		return fmt.Errorf("modemtest: reappear: device still present: %w", ErrVanished)
	}
	p.sim.PowerCycle()
	if err := p.appear(); err != nil {
		return err
	}
	p.sim.logf("modemtest: device reappeared as %s", p.device)
	return nil
}

// Close stops serving and removes the device and its link.
func (p *PTY) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	p.cancel()
	var err error
	if p.master != nil {
		err = p.disappear()
	}
	return errors.Join(err, os.RemoveAll(p.dir))
}

// appear opens a new pty, points the link at it and serves it; p.mu is
// held.
func (p *PTY) appear() error {
	master, device, err := openPTY()
	if err != nil {
		return err
	}
	if err := retarget(p.link, device); err != nil {
		return errors.Join(err, master.Close())
	}
	p.master, p.device, p.done = master, device, make(chan struct{})
	go p.serve(master, p.done)
	return nil
}

// disappear closes the master, waits for the serving goroutine and removes
// the link, as udev does; p.mu is held.
func (p *PTY) disappear() error {
	err := p.master.Close()
	<-p.done
	if rmErr := os.Remove(p.link); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	p.master, p.device = nil, ""
	if err != nil {
		return fmt.Errorf("modemtest: vanish: %w", err)
	}
	return nil
}

// serve serves one connection per open of the slave by the host.
func (p *PTY) serve(master *os.File, done chan<- struct{}) {
	defer close(done)
	rw := ptyConn{master}
	for {
		if err := waitOpened(p.ctx, master); err != nil {
			return
		}
		err := p.sim.Serve(p.ctx, rw)
		switch {
		case p.ctx.Err() != nil, errors.Is(err, os.ErrClosed):
			return
		case errors.Is(err, ErrBusy):
			p.sim.logf("modemtest: pty not served: %v", err)
			return
		}
		p.sim.logf("modemtest: host closed the device (%v)", err)
	}
}

// openPTY opens a pty and returns its master, ready for the runtime poller,
// and the slave's path. The slave is not kept open, so the host's open
// and close are visible on the master (EIO and POLLHUP while closed) and
// the tty's state is the kernel's when the host opens it.
func openPTY() (*os.File, string, error) {
	m, tty, err := pty.Open()
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrNoPTY, err)
	}
	device := tty.Name()
	if err := tty.Close(); err != nil {
		return nil, "", errors.Join(fmt.Errorf("modemtest: close pty slave: %w", err), m.Close())
	}
	master, err := pollable(m)
	if err != nil {
		return nil, "", err
	}
	return master, device, nil
}

// pollable returns a non-blocking duplicate of f and closes f. pty.Open
// leaves the master in blocking mode, where neither Close nor a deadline
// interrupts a Read; a non-blocking descriptor goes through the runtime
// poller, where both do.
func pollable(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	closeErr := f.Close()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("modemtest: dup pty master: %w", err), closeErr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, errors.Join(fmt.Errorf("modemtest: pty master non-blocking: %w", err), unix.Close(fd))
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), nil
}

// retarget points link at target atomically: a rename over the old link,
// so an opener sees the old device, the new one, or (after Vanish) none.
func retarget(link, target string) error {
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("modemtest: link: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		return fmt.Errorf("modemtest: link: %w", err)
	}
	return nil
}

// waitOpened returns once the host has the slave open, or with an error
// when ctx ends or the master is closed.
func waitOpened(ctx context.Context, master *os.File) error {
	tick := time.NewTicker(attachPoll)
	defer tick.Stop()
	for {
		hup, err := hungUp(master)
		if err != nil {
			return err
		}
		if !hup {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// hungUp reports whether nobody has the slave open (POLLHUP on the master).
func hungUp(master *os.File) (bool, error) {
	rc, err := master.SyscallConn()
	if err != nil {
		return false, fmt.Errorf("modemtest: pty master: %w", err)
	}
	var hup bool
	var pollErr error
	err = rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		_, pollErr = unix.Poll(fds, 0)
		hup = fds[0].Revents&unix.POLLHUP != 0
	})
	if err != nil {
		return false, fmt.Errorf("modemtest: pty master: %w", err)
	}
	if pollErr != nil && !errors.Is(pollErr, unix.EINTR) {
		return false, fmt.Errorf("modemtest: poll pty master: %w", pollErr)
	}
	return hup, nil
}

// ptyConn is the master side as Serve sees it. Writes check for a hang-up
// first: the kernel would queue them for the next opener, which a real
// modem's port would not.
type ptyConn struct{ f *os.File }

func (c ptyConn) Read(b []byte) (int, error) { return c.f.Read(b) }

func (c ptyConn) Write(b []byte) (int, error) {
	hup, err := hungUp(c.f)
	if err != nil {
		return 0, err
	}
	if hup {
		return 0, fmt.Errorf("modemtest: host closed the device: %w", syscall.EIO)
	}
	return c.f.Write(b)
}

func (c ptyConn) SetDeadline(t time.Time) error { return c.f.SetDeadline(t) }

// hostPresent tells the Sim whether output would reach anyone: the host
// may have closed the device before the serving goroutine has noticed.
func (c ptyConn) hostPresent() bool {
	hup, err := hungUp(c.f)
	return err == nil && !hup
}
