// tests/interop/go/peer.go — a Go crypto/tls peer for tests/interop/go.sh:
// a TLS 1.3 echo server, or a client that connects a number of times with a
// session cache (so the later connections may resume). Standard library only.
//
//	peer -mode server -cert F -key F [-ca F -verify-client] [-alpn L] [-groups L]
//	     prints "listening on 127.0.0.1:PORT", then one line per connection:
//	     "conn N: version=TLSv1.3 cipher=NAME resumed=yes|no alpn=P client=CN"
//	peer -mode client -addr HOST:PORT -ca F [-servername N] [-cert F -key F]
//	     [-alpn L] [-groups L] [-conns N] [-msg TEXT]
//	     sends TEXT and a newline on each connection, reads the echo back and
//	     prints the same line per connection; exit status 1 on any failure.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

var groupIDs = map[string]tls.CurveID{
	"X25519": tls.X25519, "P-256": tls.CurveP256, "P-384": tls.CurveP384, "P-521": tls.CurveP521,
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func groups(s string) ([]tls.CurveID, error) {
	var out []tls.CurveID
	for _, name := range splitList(s) {
		id, ok := groupIDs[name]
		if !ok {
			return nil, fmt.Errorf("unknown group %q", name)
		}
		out = append(out, id)
	}
	return out, nil
}

func pool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate", file)
	}
	return p, nil
}

func describe(n int, st tls.ConnectionState) string {
	resumed, client, proto := "no", "none", st.NegotiatedProtocol
	if st.DidResume {
		resumed = "yes"
	}
	if len(st.PeerCertificates) > 0 {
		client = st.PeerCertificates[0].Subject.CommonName
	}
	if proto == "" {
		proto = "none"
	}
	version := "other"
	if st.Version == tls.VersionTLS13 {
		version = "TLSv1.3"
	}
	return fmt.Sprintf("conn %d: version=%s cipher=%s resumed=%s alpn=%s client=%s",
		n, version, tls.CipherSuiteName(st.CipherSuite), resumed, proto, client)
}

type options struct {
	mode, addr, cert, key, ca, alpn, groups, servername, msg string
	verifyClient                                             bool
	conns                                                    int
}

func config(o *options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13,
		NextProtos: splitList(o.alpn), ServerName: o.servername}
	var err error
	if cfg.CurvePreferences, err = groups(o.groups); err != nil {
		return nil, err
	}
	if o.cert != "" {
		c, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	if o.ca != "" {
		p, err := pool(o.ca)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs, cfg.ClientCAs = p, p
	}
	if o.verifyClient {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// serve echoes each connection until the peer closes; the line goes out once
// the handshake is done, so a test can wait for it.
func serve(c net.Conn, cfg *tls.Config, n int) {
	defer c.Close()
	t := tls.Server(c, cfg)
	t.SetDeadline(time.Now().Add(30 * time.Second))
	if err := t.Handshake(); err != nil {
		fmt.Printf("conn %d: handshake failed: %v\n", n, err)
		return
	}
	fmt.Println(describe(n, t.ConnectionState()))
	io.Copy(t, t)
	t.Close()
}

func server(o *options, cfg *tls.Config) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", l.Addr())
	for n := 1; ; n++ {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go serve(c, cfg, n)
	}
}

func exchange(o *options, cfg *tls.Config, n int) error {
	d := &net.Dialer{Timeout: 10 * time.Second}
	t, err := tls.DialWithDialer(d, "tcp", o.addr, cfg)
	if err != nil {
		return err
	}
	defer t.Close()
	t.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(t, o.msg+"\n"); err != nil {
		return err
	}
	// Reading the echo also takes in the tickets the server sent before it.
	line, err := bufio.NewReader(t).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSuffix(line, "\n") != o.msg {
		return errors.New("echo differs: " + line)
	}
	fmt.Println(describe(n, t.ConnectionState()))
	return nil
}

func client(o *options, cfg *tls.Config) error {
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	for n := 1; n <= o.conns; n++ {
		if err := exchange(o, cfg, n); err != nil {
			return fmt.Errorf("conn %d: %v", n, err)
		}
	}
	return nil
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "server", "server or client")
	flag.StringVar(&o.addr, "addr", "", "client: HOST:PORT to connect to")
	flag.StringVar(&o.cert, "cert", "", "certificate (PEM)")
	flag.StringVar(&o.key, "key", "", "private key (PEM)")
	flag.StringVar(&o.ca, "ca", "", "trusted CA (PEM): server and client certificates")
	flag.StringVar(&o.alpn, "alpn", "", "ALPN protocols, comma separated")
	flag.StringVar(&o.groups, "groups", "", "key exchange groups in order (X25519,P-256,P-384,P-521)")
	flag.StringVar(&o.servername, "servername", "localhost", "client: name to send and verify")
	flag.StringVar(&o.msg, "msg", "hello", "client: the line to send")
	flag.BoolVar(&o.verifyClient, "verify-client", false, "server: require a client certificate")
	flag.IntVar(&o.conns, "conns", 1, "client: connections to make")
	flag.Parse()
	cfg, err := config(&o)
	if err == nil && o.mode == "server" {
		err = server(&o, cfg)
	} else if err == nil {
		err = client(&o, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		os.Exit(1)
	}
}
