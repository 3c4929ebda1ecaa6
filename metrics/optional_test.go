package metrics

import (
	"reflect"
	"testing"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/mongo"
	"github.com/rosterhq/roster/repository/sqlite"
)

// backendOnly are the backends' exported methods outside repository.Store
// that nothing behind `roster serve` looks for by type assertion (the
// migrate and backup commands and the tests use the stores themselves).
var backendOnly = map[string]bool{
	"Backup": true, "Count": true, "Export": true, "Import": true,
	"LoadCheckpoint": true, "SaveCheckpoint": true,
	"Path": true, "Database": true, "IsFerretDB": true,
}

// TestDecoratorHidesNoServeMethod guards against a silent change of
// behaviour: a package that type-asserts the store for an optional
// method (say sso for GetSSOConnectionByID) finds nothing through
// InstrumentStore. A backend method outside repository.Store must be put
// in the interface (then `go generate ./metrics`), or listed above when
// only commands that hold the backend itself use it.
func TestDecoratorHidesNoServeMethod(t *testing.T) {
	st := reflect.TypeFor[repository.Store]()
	for _, typ := range []reflect.Type{reflect.TypeFor[*sqlite.Store](), reflect.TypeFor[*mongo.Store]()} {
		for i := range typ.NumMethod() {
			m := typ.Method(i)
			if _, ok := st.MethodByName(m.Name); ok || backendOnly[m.Name] {
				continue
			}
			t.Errorf("%s.%s is not in repository.Store: InstrumentStore hides it from type assertions", typ, m.Name)
		}
	}
}
