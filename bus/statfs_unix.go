//go:build unix

package bus

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// freeBytes is the space an unprivileged writer may still use under dir.
func freeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
