//go:build unix

package sqlite

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// shmDMSByte is the byte of the -shm file every connection to a WAL
// database holds a shared lock on while it is open (SQLite's "dead man
// switch", UNIX_SHM_DMS in os_unix.c: (22+8)*4+8).
const shmDMSByte = 128

// lockStore takes an exclusive lock on the store's dead-man-switch byte:
// it fails with ErrInUse while any other process has the store open, and
// while held, a process opening the store fails to (SQLITE_BUSY) instead
// of reading a file being replaced. Without a -shm file no process has
// the WAL store open. POSIX locks are per process: the caller must not
// have the store open itself.
func lockStore(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path+"-shm", os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: shmDMSByte, Len: 1}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
			return nil, ErrInUse
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}
