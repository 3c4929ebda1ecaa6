package mail

import (
	"html"
	"strings"
	"testing"
	"time"
)

var expires = time.Date(2026, time.March, 9, 14, 30, 0, 0, time.FixedZone("CET", 3600))

func TestRender(t *testing.T) {
	const link = "https://roster.example.com/invite/tok_A-b9?next=%2Fhome&lang=en"
	tests := []struct {
		name        string
		tmpl        string
		data        any
		subject     string
		link        string   // must appear in both parts (escaped in HTML)
		inBoth      []string // further text both parts carry, HTML-escaped there
		notInBodies []string
	}{
		{
			name: "invitation", tmpl: TemplateInvitation,
			data: InvitationData{AccountName: "Acme Support", InviterName: "Ada Lovelace", InviteeName: "Grace",
				InviteeEmail: "grace@acme.example", Link: link, ExpiresAt: expires},
			subject: "Ada Lovelace invited you to Acme Support on Roster",
			link:    link,
			inBoth:  []string{"Hello Grace,", "grace@acme.example", "Monday, 9 March 2026 at 13:30 UTC"},
		},
		{
			name: "invitation without inviter or name, by pointer", tmpl: TemplateInvitation,
			data:    &InvitationData{AccountName: "Acme", InviteeEmail: "g@acme.example", Link: link, ExpiresAt: expires},
			subject: "An administrator invited you to Acme on Roster",
			link:    link,
			inBoth:  []string{"Hello,", "An administrator invited you"},
		},
		{
			name: "invitation resent", tmpl: TemplateInvitationResent,
			data: InvitationData{AccountName: "Acme", InviterName: "Ada", InviteeEmail: "g@acme.example",
				Link: link, ExpiresAt: expires},
			subject: "Your new invitation to Acme on Roster",
			link:    link,
			inBoth:  []string{"Links from earlier invitations no longer work"},
		},
		{
			name: "activation", tmpl: TemplateActivation,
			data: ActivationData{AccountName: "Acme", CreatorName: "Ada", MemberName: "Linus", UserName: "linus@acme.example",
				Link: "https://roster.example.com/activate/xyz", ExpiresAt: expires},
			subject: "Activate your Acme account on Roster",
			link:    "https://roster.example.com/activate/xyz",
			inBoth:  []string{"Ada created an account for you", "linus@acme.example"},
		},
		{
			name: "temporary password", tmpl: TemplateTemporaryPassword,
			data: TemporaryPasswordData{AccountName: "Acme", UserName: "linus@acme.example",
				LoginURL: "https://roster.example.com/login"},
			subject: "A temporary password was set for your Acme account",
			link:    "https://roster.example.com/login",
			inBoth:  []string{"An administrator set a temporary password", "does not contain it"},
		},
		{
			name: "account deletion code", tmpl: TemplateAccountDeletionCode,
			data:        AccountDeletionCodeData{AccountName: "Acme", RequesterName: "Ada", Code: "482915", ExpiresInMinutes: 15},
			subject:     "Your code to confirm deleting Acme",
			inBoth:      []string{"482915", "15 minutes", "cannot be undone"},
			notInBodies: []string{"http"},
		},
		{
			name: "account deletion code, one minute", tmpl: TemplateAccountDeletionCode,
			data:    AccountDeletionCodeData{AccountName: "Acme", Code: "0042", ExpiresInMinutes: 1},
			subject: "Your code to confirm deleting Acme",
			inBoth:  []string{"0042", "expires in 1 minute."},
		},
		{
			name: "notice with link", tmpl: TemplateNotice,
			data: NoticeData{Subject: "Seats bought", RecipientName: "Ada",
				Paragraphs: []string{"Acme now has 20 agent seats.", "Queued agents got one."},
				Link:       "https://roster.example.com/seats", LinkText: "See the seats"},
			subject: "Seats bought",
			link:    "https://roster.example.com/seats",
			inBoth:  []string{"Acme now has 20 agent seats.", "Queued agents got one.", "See the seats"},
		},
		{
			name: "notice without link", tmpl: TemplateNotice,
			data:        NoticeData{Subject: "Hello", Paragraphs: []string{"Just so you know."}},
			subject:     "Hello",
			inBoth:      []string{"Just so you know."},
			notInBodies: []string{"https://"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			subject, text, htmlBody, err := Render(tc.tmpl, tc.data)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if subject != tc.subject {
				t.Errorf("subject = %q, want %q", subject, tc.subject)
			}
			if tc.link != "" {
				// The link stands on a line of its own in the text part,
				// so every mail client makes it clickable.
				if !strings.Contains(text, "\n"+tc.link+"\n") {
					t.Errorf("text lacks the link %q on its own line:\n%s", tc.link, text)
				}
				if !strings.Contains(htmlBody, `href="`+html.EscapeString(tc.link)+`"`) {
					t.Errorf("HTML lacks href %q:\n%s", html.EscapeString(tc.link), htmlBody)
				}
			}
			for _, s := range tc.inBoth {
				if !strings.Contains(text, s) {
					t.Errorf("text lacks %q:\n%s", s, text)
				}
				if !strings.Contains(htmlBody, html.EscapeString(s)) {
					t.Errorf("HTML lacks %q:\n%s", html.EscapeString(s), htmlBody)
				}
			}
			for _, s := range tc.notInBodies {
				if strings.Contains(text, s) || strings.Contains(htmlBody, s) {
					t.Errorf("a body holds %q", s)
				}
			}
			if !strings.HasPrefix(htmlBody, "<!DOCTYPE html>") || !strings.Contains(htmlBody, "<title>"+html.EscapeString(subject)+"</title>") {
				t.Errorf("HTML is not a full document titled with the subject:\n%s", htmlBody)
			}
			if strings.Contains(text, "<p>") || strings.Contains(text, "&amp;") {
				t.Errorf("text part holds HTML:\n%s", text)
			}
			if !strings.HasSuffix(text, "\n") || strings.HasSuffix(text, "\n\n") {
				t.Errorf("text does not end with exactly one newline: %q", text[max(0, len(text)-20):])
			}
		})
	}
}

// TestRenderEscapes checks that what people typed (account and member
// names) is escaped in the HTML part and left alone in the text part, and
// cannot break the subject into several header lines.
func TestRenderEscapes(t *testing.T) {
	evil := `Acme <script>alert("x")</script> & Sons`
	// A link with characters no URL holds is refused, not escaped.
	if _, _, _, err := Render(TemplateInvitation, InvitationData{AccountName: evil, InviteeEmail: "g@acme.example",
		Link: "https://roster.example.com/invite/t?a=1&b=<2>", ExpiresAt: expires}); err == nil {
		t.Error("a link with <> rendered")
	}
	subject, text, htmlBody, err := Render(TemplateInvitation, InvitationData{
		AccountName: evil, InviterName: "Eve\r\nBcc: victim@example.com", InviteeName: `<img src=x onerror=alert(1)>`,
		InviteeEmail: "g@acme.example", Link: "https://roster.example.com/invite/t?a=1&b=2", ExpiresAt: expires,
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject spans lines: %q", subject)
	}
	if want := `Eve Bcc: victim@example.com invited you to ` + evil + ` on Roster`; subject != want {
		t.Errorf("subject = %q, want %q", subject, want)
	}
	for _, raw := range []string{"<script>", `<img src=x`, `"x"`} {
		if strings.Contains(htmlBody, raw) {
			t.Errorf("HTML holds unescaped %q:\n%s", raw, htmlBody)
		}
	}
	for _, escaped := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Sons", "&lt;img src=x onerror=alert(1)&gt;",
		`href="https://roster.example.com/invite/t?a=1&amp;b=2"`} {
		if !strings.Contains(htmlBody, escaped) {
			t.Errorf("HTML lacks %q:\n%s", escaped, htmlBody)
		}
	}
	if !strings.Contains(text, evil) || !strings.Contains(text, "https://roster.example.com/invite/t?a=1&b=2") {
		t.Errorf("text part does not carry the values as typed:\n%s", text)
	}
}

func TestRenderRejects(t *testing.T) {
	good := InvitationData{AccountName: "Acme", InviteeEmail: "g@acme.example", Link: "https://r.example/i/t", ExpiresAt: expires}
	bad := func(f func(*InvitationData)) InvitationData { d := good; f(&d); return d }
	tests := []struct {
		name string
		tmpl string
		data any
		want string // part of the error
	}{
		{"unknown template", "welcome", good, `unknown template`},
		{"wrong data type", TemplateActivation, good, "data is mail.InvitationData, want mail.ActivationData"},
		{"nil pointer", TemplateInvitation, (*InvitationData)(nil), "nil *mail.InvitationData"},
		{"no data", TemplateInvitation, nil, "data is <nil>"},
		{"missing account", TemplateInvitation, bad(func(d *InvitationData) { d.AccountName = " " }), "AccountName is empty"},
		{"missing expiry", TemplateInvitation, bad(func(d *InvitationData) { d.ExpiresAt = time.Time{} }), "ExpiresAt is not set"},
		{"javascript link", TemplateInvitation, bad(func(d *InvitationData) { d.Link = "javascript:alert(1)" }), "not an absolute http(s) URL"},
		{"relative link", TemplateInvitationResent, bad(func(d *InvitationData) { d.Link = "/invite/t" }), "not an absolute http(s) URL"},
		{"code with letters", TemplateAccountDeletionCode, AccountDeletionCodeData{AccountName: "A", Code: "12ab56", ExpiresInMinutes: 5}, "not 4 to 12 digits"},
		{"code too short", TemplateAccountDeletionCode, AccountDeletionCodeData{AccountName: "A", Code: "123", ExpiresInMinutes: 5}, "not 4 to 12 digits"},
		{"code expiry", TemplateAccountDeletionCode, AccountDeletionCodeData{AccountName: "A", Code: "123456"}, "ExpiresInMinutes 0 is not positive"},
		{"notice without paragraphs", TemplateNotice, NoticeData{Subject: "x"}, "Paragraphs is empty"},
		{"temporary password login URL", TemplateTemporaryPassword, TemporaryPasswordData{AccountName: "A", UserName: "u"}, `LoginURL "" is not`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := Render(tc.tmpl, tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Render error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestEveryTemplateParses guards the embedded files: each listed template
// has both parts and a subject.
func TestEveryTemplateParses(t *testing.T) {
	all, err := parsed()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Templates() {
		p, ok := all[name]
		if !ok || p.text.Lookup("subject") == nil || p.html.Lookup("content") == nil || p.html.Lookup("layout") == nil {
			t.Errorf("template %s is incomplete", name)
		}
	}
}

func TestBackoff(t *testing.T) {
	const lo, hi = 5 * time.Second, 30 * time.Minute
	tests := []struct {
		failedBefore int
		want         time.Duration
	}{
		{0, 5 * time.Second}, {1, 10 * time.Second}, {2, 20 * time.Second}, {8, 1280 * time.Second},
		{9, 30 * time.Minute}, {50, 30 * time.Minute}, {1 << 20, 30 * time.Minute},
	}
	for _, tc := range tests {
		if got := backoff(tc.failedBefore, lo, hi); got != tc.want {
			t.Errorf("backoff(%d) = %v, want %v", tc.failedBefore, got, tc.want)
		}
	}
	if got := jittered(10*time.Second, 0); got != 10*time.Second {
		t.Errorf("jittered(10s, 0) = %v", got)
	}
	if got := jittered(10*time.Second, 0.999999); got <= 8*time.Second || got > 8*time.Second+time.Millisecond {
		t.Errorf("jittered(10s, ~1) = %v, want just over 8s", got)
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("héllo", 2); got != "h…" {
		t.Errorf("truncate cut a character: %q", got)
	}
	if got := truncate("abc", 3); got != "abc" {
		t.Errorf("truncate(abc, 3) = %q", got)
	}
}
