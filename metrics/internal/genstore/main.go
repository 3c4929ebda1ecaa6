// Command genstore writes metrics/store_gen.go: a decorator of
// repository.Store that times every method returning an error. It reads
// the interface from the repository package's source (go/parser, so it
// works while other packages do not compile), following embedded
// interfaces, so the decorator never drifts from the interface:
//
//	go generate ./metrics
//
// A test in this package fails when store_gen.go is stale.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

func main() {
	repo := flag.String("repo", "../repository", "directory of the repository package")
	out := flag.String("out", "store_gen.go", "file to write")
	flag.Parse()
	src, err := generate(*repo)
	if err != nil {
		fmt.Fprintf(os.Stderr, "genstore: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "genstore: %v\n", err)
		os.Exit(1)
	}
}

// repositoryPath is the import path of the package the interface lives in.
const repositoryPath = "github.com/rosterhq/roster/repository"

// method is one method of the interface.
type method struct {
	name     string
	params   []param
	variadic bool
	results  []string
}

type param struct{ name, typ string }

// pkgInfo is what generate learns from the repository package.
type pkgInfo struct {
	interfaces map[string]*ast.InterfaceType
	types      map[string]bool   // every package-level type name
	imports    map[string]string // package name -> import path, from the files
}

// generate returns the source of store_gen.go for the repository package
// in dir.
func generate(dir string) ([]byte, error) {
	info, err := parsePackage(dir)
	if err != nil {
		return nil, err
	}
	g := &generator{info: info, used: map[string]bool{"context": false, "time": true}}
	var methods []method
	if err := g.collect("Store", map[string]bool{}, &methods); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, m := range methods {
		if seen[m.name] {
			return nil, fmt.Errorf("method %s appears twice in Store", m.name)
		}
		seen[m.name] = true
	}
	return g.render(methods)
}

func parsePackage(dir string) (pkgInfo, error) {
	fset := token.NewFileSet()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return pkgInfo{}, err
	}
	info := pkgInfo{interfaces: map[string]*ast.InterfaceType{}, types: map[string]bool{}, imports: map[string]string{}}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return pkgInfo{}, fmt.Errorf("parse %s: %w", p, err)
		}
		if f.Name.Name != "repository" {
			continue
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			name := path[strings.LastIndex(path, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			info.imports[name] = path
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				info.types[ts.Name.Name] = true
				if it, ok := ts.Type.(*ast.InterfaceType); ok {
					info.interfaces[ts.Name.Name] = it
				}
			}
		}
	}
	if info.interfaces["Store"] == nil {
		return pkgInfo{}, fmt.Errorf("no Store interface in %s", dir)
	}
	return info, nil
}

type generator struct {
	info pkgInfo
	used map[string]bool // import paths the output needs
}

// collect appends the methods of the named interface, embedded ones
// expanded in place.
func (g *generator) collect(name string, visiting map[string]bool, out *[]method) error {
	it := g.info.interfaces[name]
	if it == nil {
		return fmt.Errorf("interface %s: not found in the repository package", name)
	}
	if visiting[name] {
		return fmt.Errorf("interface %s embeds itself", name)
	}
	visiting[name] = true
	defer delete(visiting, name)
	for _, f := range it.Methods.List {
		if len(f.Names) == 0 {
			id, ok := f.Type.(*ast.Ident)
			if !ok {
				return fmt.Errorf("interface %s: embedded %s is not an interface of the package", name, g.expr(f.Type))
			}
			if err := g.collect(id.Name, visiting, out); err != nil {
				return err
			}
			continue
		}
		ft, ok := f.Type.(*ast.FuncType)
		if !ok {
			return fmt.Errorf("interface %s: %s is not a method", name, f.Names[0].Name)
		}
		for _, n := range f.Names {
			m, err := g.method(n.Name, ft)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", name, n.Name, err)
			}
			*out = append(*out, m)
		}
	}
	return nil
}

// reserved are names the generated bodies use.
var reserved = map[string]bool{"s": true, "start": true, "err": true, "time": true, "context": true, "repository": true}

func (g *generator) method(name string, ft *ast.FuncType) (method, error) {
	m := method{name: name}
	var errs []error
	i := 0
	for _, f := range ft.Params.List {
		typ := f.Type
		if e, ok := typ.(*ast.Ellipsis); ok {
			m.variadic = true
			typ = e.Elt
		}
		ts, err := g.typeString(typ)
		errs = append(errs, err)
		names := f.Names
		if len(names) == 0 {
			names = []*ast.Ident{{Name: "_"}}
		}
		for _, n := range names {
			pn := n.Name
			if pn == "_" || reserved[pn] || strings.HasPrefix(pn, "r") && isDigits(pn[1:]) {
				pn = "p" + strconv.Itoa(i)
			}
			m.params = append(m.params, param{pn, ts})
			i++
		}
	}
	if ft.Results != nil {
		for _, f := range ft.Results.List {
			ts, err := g.typeString(f.Type)
			errs = append(errs, err)
			for range max(len(f.Names), 1) {
				m.results = append(m.results, ts)
			}
		}
	}
	return m, errors.Join(errs...)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// typeString renders a type expression as written outside the package:
// the package's own type names get the "repository." qualifier.
func (g *generator) typeString(e ast.Expr) (string, error) {
	var err error
	s := g.render1(e, &err)
	return s, err
}

func (g *generator) expr(e ast.Expr) string {
	var err error
	return g.render1(e, &err)
}

func (g *generator) render1(e ast.Expr, err *error) string {
	fail := func() string {
		if *err == nil {
			*err = fmt.Errorf("unsupported type expression %T", e)
		}
		return "?"
	}
	switch t := e.(type) {
	case *ast.Ident:
		if g.info.types[t.Name] {
			g.used[repositoryPath] = true
			return "repository." + t.Name
		}
		return t.Name // predeclared: string, error, int, any, ...
	case *ast.SelectorExpr:
		pkg, ok := t.X.(*ast.Ident)
		if !ok {
			return fail()
		}
		path, ok := g.info.imports[pkg.Name]
		if !ok {
			*err = fmt.Errorf("package %s is not imported by the repository package", pkg.Name)
			return "?"
		}
		if path[strings.LastIndex(path, "/")+1:] != pkg.Name {
			*err = fmt.Errorf("renamed import %s %q is not supported", pkg.Name, path)
			return "?"
		}
		g.used[path] = true
		return pkg.Name + "." + t.Sel.Name
	case *ast.StarExpr:
		return "*" + g.render1(t.X, err)
	case *ast.ArrayType:
		if t.Len == nil {
			return "[]" + g.render1(t.Elt, err)
		}
		lit, ok := t.Len.(*ast.BasicLit)
		if !ok {
			return fail()
		}
		return "[" + lit.Value + "]" + g.render1(t.Elt, err)
	case *ast.MapType:
		return "map[" + g.render1(t.Key, err) + "]" + g.render1(t.Value, err)
	case *ast.Ellipsis:
		return "..." + g.render1(t.Elt, err)
	case *ast.ChanType:
		switch t.Dir {
		case ast.SEND:
			return "chan<- " + g.render1(t.Value, err)
		case ast.RECV:
			return "<-chan " + g.render1(t.Value, err)
		}
		return "chan " + g.render1(t.Value, err)
	case *ast.IndexExpr:
		return g.render1(t.X, err) + "[" + g.render1(t.Index, err) + "]"
	case *ast.IndexListExpr:
		args := make([]string, len(t.Indices))
		for i, x := range t.Indices {
			args[i] = g.render1(x, err)
		}
		return g.render1(t.X, err) + "[" + strings.Join(args, ", ") + "]"
	case *ast.InterfaceType:
		if len(t.Methods.List) == 0 {
			return "interface{}"
		}
		return fail()
	case *ast.StructType:
		if len(t.Fields.List) == 0 {
			return "struct{}"
		}
		return fail()
	case *ast.FuncType:
		return "func" + g.signature(t, err)
	case *ast.ParenExpr:
		return "(" + g.render1(t.X, err) + ")"
	}
	return fail()
}

// signature renders a func type's parameters and results, names dropped.
func (g *generator) signature(ft *ast.FuncType, err *error) string {
	list := func(fl *ast.FieldList) []string {
		if fl == nil {
			return nil
		}
		var out []string
		for _, f := range fl.List {
			s := g.render1(f.Type, err)
			for range max(len(f.Names), 1) {
				out = append(out, s)
			}
		}
		return out
	}
	s := "(" + strings.Join(list(ft.Params), ", ") + ")"
	res := list(ft.Results)
	switch len(res) {
	case 0:
	case 1:
		if strings.HasPrefix(res[0], "func") {
			s += " (" + res[0] + ")"
		} else {
			s += " " + res[0]
		}
	default:
		s += " (" + strings.Join(res, ", ") + ")"
	}
	return s
}

func (g *generator) render(methods []method) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by genstore (go generate ./metrics); DO NOT EDIT.\n\n")
	b.WriteString("package metrics\n\nimport (\n")
	var paths []string
	for p, ok := range g.used {
		if ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	// Standard library first, then the module's packages, as goimports
	// groups them.
	for _, std := range []bool{true, false} {
		if !std {
			b.WriteString("\n")
		}
		for _, p := range paths {
			if !strings.Contains(p, ".") == std {
				fmt.Fprintf(&b, "\t%q\n", p)
			}
		}
	}
	b.WriteString(")\n\n")
	b.WriteString("// instrumentedMethods lists the Store methods the generated decorator\n")
	b.WriteString("// times; the test of genstore compares it with the interface.\n")
	b.WriteString("var instrumentedMethods = []string{\n")
	for _, m := range methods {
		if instrumented(m) {
			fmt.Fprintf(&b, "\t%q,\n", m.name)
		}
	}
	b.WriteString("}\n")
	for _, m := range methods {
		writeMethod(&b, m)
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format generated source: %w\n%s", err, b.Bytes())
	}
	return src, nil
}

// instrumented reports whether m is timed: methods returning an error
// (calls that reach the store). Others are plain delegations.
func instrumented(m method) bool {
	return len(m.results) > 0 && m.results[len(m.results)-1] == "error"
}

func writeMethod(b *bytes.Buffer, m method) {
	params := make([]string, len(m.params))
	args := make([]string, len(m.params))
	for i, p := range m.params {
		typ := p.typ
		arg := p.name
		if m.variadic && i == len(m.params)-1 {
			typ = "..." + typ
			arg += "..."
		}
		params[i] = p.name + " " + typ
		args[i] = arg
	}
	results := strings.Join(m.results, ", ")
	if len(m.results) > 1 {
		results = "(" + results + ")"
	}
	call := fmt.Sprintf("s.next.%s(%s)", m.name, strings.Join(args, ", "))
	fmt.Fprintf(b, "\nfunc (s *instrumentedStore) %s(%s) %s {\n", m.name, strings.Join(params, ", "), results)
	if !instrumented(m) {
		if len(m.results) == 0 {
			fmt.Fprintf(b, "\t%s\n}\n", call)
		} else {
			fmt.Fprintf(b, "\treturn %s\n}\n", call)
		}
		return
	}
	vars := make([]string, len(m.results))
	for i := range vars {
		vars[i] = "r" + strconv.Itoa(i)
	}
	vars[len(vars)-1] = "err"
	fmt.Fprintf(b, "\tstart := time.Now()\n")
	fmt.Fprintf(b, "\t%s := %s\n", strings.Join(vars, ", "), call)
	fmt.Fprintf(b, "\ts.r.observeStore(%q, start, err)\n", m.name)
	fmt.Fprintf(b, "\treturn %s\n}\n", strings.Join(vars, ", "))
}
