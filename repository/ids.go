package repository

import "github.com/google/uuid"

// NewID returns a new record id: a UUIDv7, so ids sort in creation order
// and new rows land at the end of id indexes.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}
