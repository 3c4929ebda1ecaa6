package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
)

// Template names, for Render and Enqueue. Each takes the data type named
// in its comment (a value or a non-nil pointer).
const (
	// TemplateInvitation invites someone to an account (InvitationData).
	TemplateInvitation = "invitation"
	// TemplateInvitationResent carries a new link after an admin resent
	// the invitation; the old link is dead (InvitationData).
	TemplateInvitationResent = "invitation_resent"
	// TemplateActivation asks a member an admin created directly to choose
	// a password (ActivationData).
	TemplateActivation = "activation"
	// TemplateTemporaryPassword tells a member an admin set a temporary
	// password (TemporaryPasswordData).
	TemplateTemporaryPassword = "temporary_password"
	// TemplateAccountDeletionCode sends the owner the code that confirms
	// deleting the account (AccountDeletionCodeData).
	TemplateAccountDeletionCode = "account_deletion_code"
	// TemplateNotice is a plain notice with an optional link (NoticeData).
	TemplateNotice = "notice"
)

// Templates lists every template name Render accepts.
func Templates() []string {
	return []string{TemplateInvitation, TemplateInvitationResent, TemplateActivation,
		TemplateTemporaryPassword, TemplateAccountDeletionCode, TemplateNotice}
}

// InvitationData fills TemplateInvitation and TemplateInvitationResent.
type InvitationData struct {
	// AccountName is the account the person is invited to (required).
	AccountName string
	// InviterName is who invites; empty reads "An administrator".
	InviterName string
	// InviteeName greets the person; optional.
	InviteeName string
	// InviteeEmail is the address (user name) the person is invited as
	// (required).
	InviteeEmail string
	// Link is the single-use absolute http(s) link that accepts the
	// invitation (required).
	Link string
	// ExpiresAt is when the link stops working (required).
	ExpiresAt time.Time
}

func (d InvitationData) validate() error {
	return errors.Join(required("AccountName", d.AccountName), required("InviteeEmail", d.InviteeEmail),
		link("Link", d.Link), requiredTime("ExpiresAt", d.ExpiresAt))
}

// ActivationData fills TemplateActivation.
type ActivationData struct {
	// AccountName is the account the member belongs to (required).
	AccountName string
	// CreatorName is the admin who created the member; empty reads
	// "An administrator".
	CreatorName string
	// MemberName greets the member; optional.
	MemberName string
	// UserName is what the member logs in with (required).
	UserName string
	// Link is the single-use absolute http(s) link where the member
	// chooses a password (required).
	Link string
	// ExpiresAt is when the link stops working (required).
	ExpiresAt time.Time
}

func (d ActivationData) validate() error {
	return errors.Join(required("AccountName", d.AccountName), required("UserName", d.UserName),
		link("Link", d.Link), requiredTime("ExpiresAt", d.ExpiresAt))
}

// TemporaryPasswordData fills TemplateTemporaryPassword. It has no field
// for the password on purpose: the outbox keeps message bodies in the
// store in clear, and mailboxes keep them for years.
type TemporaryPasswordData struct {
	// AccountName is the account the member belongs to (required).
	AccountName string
	// SetBy is the admin who set the password; empty reads
	// "An administrator".
	SetBy string
	// MemberName greets the member; optional.
	MemberName string
	// UserName is what the member logs in with (required).
	UserName string
	// LoginURL is the absolute http(s) login page (required).
	LoginURL string
}

func (d TemporaryPasswordData) validate() error {
	return errors.Join(required("AccountName", d.AccountName), required("UserName", d.UserName),
		link("LoginURL", d.LoginURL))
}

// AccountDeletionCodeData fills TemplateAccountDeletionCode.
type AccountDeletionCodeData struct {
	// AccountName is the account about to be deleted (required).
	AccountName string
	// RequesterName greets the owner; optional.
	RequesterName string
	// Code is the numeric confirmation code, 4 to 12 digits (required).
	Code string
	// ExpiresInMinutes is how long the code works (required, > 0).
	ExpiresInMinutes int
}

func (d AccountDeletionCodeData) validate() error {
	var errs []error
	errs = append(errs, required("AccountName", d.AccountName))
	if len(d.Code) < 4 || len(d.Code) > 12 || strings.Trim(d.Code, "0123456789") != "" {
		errs = append(errs, fmt.Errorf("Code %q is not 4 to 12 digits", d.Code))
	}
	if d.ExpiresInMinutes <= 0 {
		errs = append(errs, fmt.Errorf("ExpiresInMinutes %d is not positive", d.ExpiresInMinutes))
	}
	return errors.Join(errs...)
}

// NoticeData fills TemplateNotice.
type NoticeData struct {
	// Subject is the email's subject (required).
	Subject string
	// RecipientName greets the recipient; optional.
	RecipientName string
	// Paragraphs are the body, one plain-text paragraph each (at least
	// one).
	Paragraphs []string
	// Link is an optional absolute http(s) link, with LinkText as its
	// label ("Open" when empty).
	Link     string
	LinkText string
}

func (d NoticeData) validate() error {
	var errs []error
	errs = append(errs, required("Subject", d.Subject))
	if len(d.Paragraphs) == 0 {
		errs = append(errs, errors.New("Paragraphs is empty"))
	}
	if d.Link != "" {
		errs = append(errs, link("Link", d.Link))
	}
	return errors.Join(errs...)
}

// Render renders the named template with data into a one-line subject, a
// plain-text body and an HTML body. Both bodies carry every link in full,
// so a text-only client shows them too.
func Render(name string, data any) (subject, text, html string, err error) {
	data, err = checkData(name, data)
	if err != nil {
		return "", "", "", fmt.Errorf("render email %s: %w", name, err)
	}
	all, err := parsed()
	if err != nil {
		return "", "", "", fmt.Errorf("render email %s: %w", name, err)
	}
	t := all[name]
	var sb, tb, hb bytes.Buffer
	if err := t.text.ExecuteTemplate(&sb, "subject", data); err != nil {
		return "", "", "", fmt.Errorf("render email %s: subject: %w", name, err)
	}
	if err := t.text.Execute(&tb, data); err != nil {
		return "", "", "", fmt.Errorf("render email %s: text: %w", name, err)
	}
	if err := t.html.ExecuteTemplate(&hb, "layout", data); err != nil {
		return "", "", "", fmt.Errorf("render email %s: html: %w", name, err)
	}
	// Names in the subject come from people; folding whitespace keeps a
	// line break in one from reaching the header.
	subject = strings.Join(strings.Fields(sb.String()), " ")
	text = strings.TrimRight(tb.String(), " \n") + "\n"
	return subject, text, hb.String(), nil
}

// checkData returns data as the value type the template takes, validated.
func checkData(name string, data any) (any, error) {
	switch name {
	case TemplateInvitation, TemplateInvitationResent:
		return typed[InvitationData](data)
	case TemplateActivation:
		return typed[ActivationData](data)
	case TemplateTemporaryPassword:
		return typed[TemporaryPasswordData](data)
	case TemplateAccountDeletionCode:
		return typed[AccountDeletionCodeData](data)
	case TemplateNotice:
		return typed[NoticeData](data)
	}
	return nil, fmt.Errorf("unknown template (known: %s)", strings.Join(Templates(), ", "))
}

func typed[T interface{ validate() error }](data any) (any, error) {
	var v T
	switch d := data.(type) {
	case T:
		v = d
	case *T:
		if d == nil {
			return nil, fmt.Errorf("nil %T", d)
		}
		v = *d
	default:
		return nil, fmt.Errorf("data is %T, want %T", data, v)
	}
	if err := v.validate(); err != nil {
		return nil, fmt.Errorf("invalid %T: %w", v, err)
	}
	return v, nil
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%s is empty", field)
	}
	return nil
}

func requiredTime(field string, t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("%s is not set", field)
	}
	return nil
}

// link accepts absolute http and https URLs only: a link in an email is
// clicked by people, and html/template would turn any other scheme into a
// dead "#ZgotmplZ" link in the HTML part while the text part kept it.
func link(field, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s %q is not an absolute http(s) URL", field, v)
	}
	if strings.ContainsAny(v, " \t\r\n<>\"") {
		return fmt.Errorf("%s %q holds characters a URL cannot", field, v)
	}
	return nil
}

//go:embed templates/*.tmpl
var templateFS embed.FS

// templatePair is one email's parsed text and HTML templates.
type templatePair struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// parsed parses the embedded templates once. They never change after, so
// sharing them across goroutines is safe (Execute is concurrency-safe).
var parsed = sync.OnceValues(func() (map[string]templatePair, error) {
	out := make(map[string]templatePair)
	for _, name := range Templates() {
		txtFile := "templates/" + name + ".txt.tmpl"
		tt, err := texttemplate.New(name+".txt.tmpl").Funcs(texttemplate.FuncMap(funcs())).
			Option("missingkey=error").ParseFS(templateFS, txtFile)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", txtFile, err)
		}
		ht, err := htmltemplate.New("layout").Funcs(htmltemplate.FuncMap(funcs())).
			Option("missingkey=error").
			ParseFS(templateFS, "templates/layout.html.tmpl", "templates/"+name+".html.tmpl")
		if err != nil {
			return nil, fmt.Errorf("parse %s html: %w", name, err)
		}
		out[name] = templatePair{text: tt, html: ht}
	}
	return out, nil
})

// buttonData is the argument of the HTML "button" template.
type buttonData struct{ URL, Label string }

// funcs returns the helpers both template kinds use. None returns
// pre-escaped HTML: html/template escapes everything they produce.
func funcs() map[string]any {
	return map[string]any{
		"inviter": func(name string) string {
			if strings.TrimSpace(name) == "" {
				return "An administrator"
			}
			return name
		},
		// Times are shown in UTC and say so: the sender cannot know the
		// reader's time zone, and an unlabelled time would mislead.
		"date": func(t time.Time) string { return t.UTC().Format("Monday, 2 January 2006 at 15:04 UTC") },
		"minutes": func(n int) string {
			if n == 1 {
				return "1 minute"
			}
			return fmt.Sprintf("%d minutes", n)
		},
		"button": func(url, label string) buttonData { return buttonData{URL: url, Label: label} },
	}
}
