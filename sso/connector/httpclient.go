package connector

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrPrivateAddress is the refusal of a connection to an address that is
// not on the public internet.
var ErrPrivateAddress = errors.New("address is not public")

// HTTPClient returns the client Roster talks to identity providers with
// (metadata URLs, OIDC discovery, keys, tokens, userinfo): those URLs are
// typed in by account admins, so unless allowPrivate it refuses to connect
// to loopback, private, link-local, multicast or unspecified addresses —
// checked on the address actually dialled, after DNS and after every
// redirect, so neither a DNS answer nor a redirect reaches the internal
// network (server-side request forgery).
func HTTPClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			return checkPublic(address)
		}
	}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// checkPublic refuses a dial address ("ip:port") that is not public.
func checkPublic(address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrPrivateAddress)
	}
	a := ap.Addr().Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsGlobalUnicast() ||
		sharedAddressSpace.Contains(a) {
		return fmt.Errorf("dial %s: %w", address, ErrPrivateAddress)
	}
	return nil
}

// sharedAddressSpace is RFC 6598 carrier-grade NAT space, private in
// practice though netip does not call it so.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")
