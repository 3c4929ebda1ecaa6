package repository

import (
	"encoding/base64"
	"encoding/json"
)

// Cursor is the position after the last item of a page: the item's sort key
// (as the backend orders it) and its id, which breaks ties.
type Cursor struct {
	Key string `json:"k,omitempty"`
	ID  string `json:"i"`
}

// Encode returns the opaque form of c given to clients.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses an opaque cursor; a malformed one is ErrInvalidQuery.
func DecodeCursor(s string) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
		return Cursor{}, InvalidQueryf("malformed cursor")
	}
	return c, nil
}
