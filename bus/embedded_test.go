package bus

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// openStore opens an embedded bus on dir and returns Open's error; the
// caller closes the bus.
func openStore(t *testing.T, dir string) (*Bus, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return Open(ctx, Config{StoreDir: dir}, Deps{})
}

// TestStoreDirIsLockedWhileOpen: a second embedded server on a store dir
// in use is refused at once, naming the dir and the holder; once the
// first bus closes the store is free again.
func TestStoreDirIsLockedWhileOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := openTestBus(t, dir)

	second, err := openStore(t, dir)
	if !errors.Is(err, ErrStoreLocked) {
		if second != nil {
			closeBus(t, second)
		}
		t.Fatalf("second open on %s: %v, want ErrStoreLocked", dir, err)
	}
	for _, want := range []string{dir, "another hotline serve", "pid " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}

	closeBus(t, first)
	third, err := openStore(t, dir)
	if err != nil {
		t.Fatalf("open after the first closed: %v", err)
	}
	closeBus(t, third)
}

// TestFailedOpenReleasesTheStore: an Open that fails after taking the
// lock leaves the store free for the next.
func TestFailedOpenReleasesTheStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Open(context.Background(), Config{StoreDir: dir, Listen: "no port"}, Deps{}); err == nil {
		t.Fatal("open with a bad listen address succeeded")
	}
	openTestBus(t, dir)
}
