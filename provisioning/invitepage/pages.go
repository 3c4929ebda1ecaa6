package invitepage

import (
	"html/template"
	"time"

	"github.com/rosterhq/roster/provisioning"
)

// Page names.
const (
	pageInvitation = "invitation"
	pageAccepted   = "accepted"
	pageError      = "error"
)

// pageData is what every page is rendered from.
type pageData struct {
	Title      string
	Invitation *Invitation
	Details    *provisioning.InvitationDetails
	Accepted   *Accepted
	Error      string
	RequestID  string
}

// MinLength is shown next to the password field.
func (pageData) MinLength() int { return provisioning.MinPasswordLength }

// MaxLength is the password field's limit.
func (pageData) MaxLength() int { return provisioning.MaxPasswordLength }

// pages are the HTML pages. They run no script and load nothing: the
// Content-Security-Policy forbids it, and a page holding a secret link
// must not.
var pages = template.Must(template.New("pages").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format("2 January 2006 at 15:04 UTC") },
}).Parse(`
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} · Roster</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f5f6f8;color:#1d2330;margin:0}
main{max-width:30rem;margin:4rem auto;background:#fff;border-radius:8px;padding:2rem 2.25rem;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{font-size:1.4rem;margin:0 0 1rem}
p{line-height:1.5}
label{display:block;margin:1rem 0 .3rem;font-weight:600}
input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #b8bfcc;border-radius:4px;font-size:1rem}
button,.button{display:inline-block;margin-top:1.25rem;padding:.65rem 1.2rem;background:#2456d3;color:#fff;border:0;border-radius:4px;font-size:1rem;text-decoration:none;cursor:pointer}
.error{background:#fdecec;color:#8a1c1c;padding:.75rem 1rem;border-radius:4px}
.muted{color:#5b6475;font-size:.9rem}
</style>
</head>
<body><main>{{end}}

{{define "foot"}}</main></body></html>{{end}}

{{define "invitation"}}{{template "head" .}}
{{with .Invitation}}
<h1>{{if eq .Kind "activation"}}Activate your account at {{.AccountName}}{{else}}Join {{.AccountName}}{{end}}</h1>
<p>{{if .InviterName}}{{.InviterName}}{{else}}An administrator{{end}}
{{if eq .Kind "activation"}}created an account for{{else}}invites{{end}}
{{if .Name}}<strong>{{.Name}}</strong> ({{.Email}}){{else}}<strong>{{.Email}}</strong>{{end}}
{{if eq .Kind "activation"}}at{{else}}to join{{end}} <strong>{{.AccountName}}</strong> on Roster.</p>
{{end}}
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{with .Invitation}}
{{if .ExternalSSO}}
<p>{{.Message}}</p>
{{if .SSOLoginURL}}<a class="button" href="{{.SSOLoginURL}}">Sign in with your company's SSO</a>{{end}}
{{else}}
<form method="post" action="{{.AcceptURL}}">
<p>Your user name is <strong>{{.UserName}}</strong>. Choose a password to accept.</p>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="{{$.MinLength}}" maxlength="{{$.MaxLength}}">
<label for="passwordConfirm">Password again</label>
<input id="passwordConfirm" name="passwordConfirm" type="password" autocomplete="new-password" required minlength="{{$.MinLength}}" maxlength="{{$.MaxLength}}">
<p class="muted">At least {{$.MinLength}} characters. Not your name or email, and not a common password.</p>
<button type="submit">Set password and join</button>
</form>
{{end}}
<p class="muted">This link works until {{date .ExpiresAt}} and only once.</p>
{{end}}
{{template "foot" .}}{{end}}

{{define "accepted"}}{{template "head" .}}
{{with .Accepted}}
<h1>You're all set</h1>
<p>{{.Message}}</p>
{{if .LoginURL}}<a class="button" href="{{.LoginURL}}">Sign in</a>{{end}}
{{end}}
{{template "foot" .}}{{end}}

{{define "error"}}{{template "head" .}}
<h1>{{.Title}}</h1>
<p class="error" role="alert">{{.Error}}</p>
{{if .RequestID}}<p class="muted">Request id: {{.RequestID}}</p>{{end}}
{{template "foot" .}}{{end}}
`))
