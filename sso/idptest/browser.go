package idptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// maxAutoForms bounds how many auto-submitting forms Visit posts in a row,
// so a page that posts to itself cannot loop forever.
const maxAutoForms = 5

// Browser is an HTTP client that behaves enough like a browser for a login:
// it keeps cookies, follows redirects, and submits the auto-posting HTML
// forms IdPs answer with (SAML HTTP-POST binding, OIDC form_post).
//
// Its methods fail the test on transport errors; HTTP error statuses are
// returned in the Page for the test to check.
type Browser struct {
	// Client has the cookie jar. Set Client.CheckRedirect to stop at some
	// URL (return http.ErrUseLastResponse) and inspect the redirect.
	Client *http.Client

	t testing.TB
}

// NewBrowser returns a Browser with an empty cookie jar.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("idptest: cookie jar: %v", err)
	}
	return &Browser{Client: &http.Client{Jar: jar, Timeout: 60 * time.Second}, t: t}
}

// Page is the last response of a request after its redirects.
type Page struct {
	// URL is where the page was finally fetched from.
	URL        *url.URL
	StatusCode int
	Header     http.Header
	Body       []byte
}

// String returns the body.
func (p *Page) String() string { return string(p.Body) }

// Form is an HTML form with the values its inputs carry.
type Form struct {
	// Action is absolute: resolved against the page URL.
	Action *url.URL
	Method string // upper case; POST unless the form says GET
	Values url.Values
	// Auto tells the form needs nobody: every input is hidden or a button,
	// as in the self-posting forms of the SAML POST binding.
	Auto bool
}

// Get fetches rawURL, following redirects.
func (b *Browser) Get(rawURL string) *Page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.ctx(), http.MethodGet, rawURL, nil)
	if err != nil {
		b.t.Fatalf("idptest: GET %s: %v", rawURL, err)
	}
	return b.Do(req)
}

// PostForm posts values to rawURL as a browser posts a form.
func (b *Browser) PostForm(rawURL string, values url.Values) *Page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.ctx(), http.MethodPost, rawURL, strings.NewReader(values.Encode()))
	if err != nil {
		b.t.Fatalf("idptest: POST %s: %v", rawURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Do(req)
}

// Do sends req with the Browser's cookies and redirect handling.
func (b *Browser) Do(req *http.Request) *Page {
	b.t.Helper()
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatalf("idptest: %s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("idptest: %s %s: read body: %v", req.Method, req.URL, err)
	}
	return &Page{URL: resp.Request.URL, StatusCode: resp.StatusCode, Header: resp.Header, Body: body}
}

// Submit sends a form as the browser would.
func (b *Browser) Submit(f *Form) *Page {
	b.t.Helper()
	if f.Method == http.MethodGet {
		u := *f.Action
		u.RawQuery = f.Values.Encode()
		return b.Get(u.String())
	}
	return b.PostForm(f.Action.String(), f.Values)
}

// Visit fetches rawURL like Get, then keeps submitting the page's form while
// it is an auto-submitting one (at most a few times), and returns the first
// page that is not.
func (b *Browser) Visit(rawURL string) *Page {
	b.t.Helper()
	return b.Continue(b.Get(rawURL))
}

// Continue submits p's auto-submitting form, and the next page's, like
// Visit does, and returns p itself when it has none.
func (b *Browser) Continue(p *Page) *Page {
	b.t.Helper()
	for range maxAutoForms {
		f, err := p.Form()
		if err != nil || !f.Auto {
			return p
		}
		p = b.Submit(f)
	}
	b.t.Fatalf("idptest: more than %d auto-submitting forms in a row, last at %s", maxAutoForms, p.URL)
	return nil
}

func (b *Browser) ctx() context.Context {
	// The Client's own Timeout bounds each request; a test context, when
	// the testing.TB has one, also ends requests when the test is over.
	if c, ok := b.t.(interface{ Context() context.Context }); ok {
		return c.Context()
	}
	return context.Background()
}

// Form returns the first form of the page, with its action resolved
// against the page URL and the values of its inputs (hidden ones included;
// text areas and selects are not read).
func (p *Page) Form() (*Form, error) {
	doc, err := html.Parse(bytes.NewReader(p.Body))
	if err != nil {
		return nil, fmt.Errorf("parse page %s: %w", p.URL, err)
	}
	form := find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "form" })
	if form == nil {
		return nil, fmt.Errorf("no form on page %s", p.URL)
	}
	action, err := p.URL.Parse(attr(form, "action"))
	if err != nil {
		return nil, fmt.Errorf("form action on page %s: %w", p.URL, err)
	}
	f := &Form{Action: action, Method: strings.ToUpper(attr(form, "method")), Values: url.Values{}, Auto: true}
	if f.Method != http.MethodGet {
		f.Method = http.MethodPost
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" {
			typ := strings.ToLower(attr(n, "type"))
			switch typ {
			case "hidden":
			case "submit", "button", "image", "reset":
				return // a submit button sends nothing unless it has a name we ignore
			default:
				f.Auto = false
			}
			if name := attr(n, "name"); name != "" {
				f.Values.Add(name, attr(n, "value"))
			}
		}
		if n.Type == html.ElementNode && (n.Data == "textarea" || n.Data == "select") {
			f.Auto = false
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	return f, nil
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if m := find(c, match); m != nil {
			return m
		}
	}
	return nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}
