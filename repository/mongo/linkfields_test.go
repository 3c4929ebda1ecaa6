package mongo

import (
	"testing"

	"github.com/rosterhq/roster/repository/storetest"
)

func TestLinkFields(t *testing.T) {
	storetest.CheckLinkFields(t, newStore(t))
}
