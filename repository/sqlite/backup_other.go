//go:build !unix

package sqlite

import "errors"

// lockStore cannot tell whether another process has the store open
// without POSIX locks; restoring is refused rather than risked.
func lockStore(path string) (unlock func(), err error) {
	return nil, errors.New("restoring the embedded store is supported on Unix systems only")
}
