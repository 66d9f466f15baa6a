// tls_oracle: a TLS 1.2/1.3 echo server from Go's standard library crypto/tls
// (the TLS stack frps uses), for tests/oracle_tls/tls_go_driver.c.
//
//	tls_oracle   (prints "PORTS <all> <chacha> <tamper_s2c> <tamper_c2s>")
//
// all:    any suite, Go's defaults (session tickets on);
// chacha: TLS 1.2 with ECDHE-ECDSA-CHACHA20-POLY1305 only;
// tamper_s2c / tamper_c2s: a TCP relay in front of `all` that flips one bit of
// the byte at offset 30000 of the server-to-client / client-to-server stream.
//
// Every TLS connection echoes what it reads, re-cut into writes of 1, 7, 1000,
// 16383, 16384, 16385 and 65536 bytes in turn (so records of every size go
// out), until the client's close_notify; then it sends its own close_notify
// (CloseWrite) and closes. It logs each connection's end to stderr. Runs until
// killed.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"time"
)

func cert() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

var sizes = []int{1, 7, 1000, 16383, 16384, 16385, 65536}

func echo(c *tls.Conn, name string) {
	defer c.Close()
	buf := make([]byte, 256*1024)
	k := 0
	total := 0
	for {
		n, err := c.Read(buf)
		data := buf[:n]
		for len(data) > 0 {
			m := sizes[k%len(sizes)]
			k++
			if m > len(data) {
				m = len(data)
			}
			if _, werr := c.Write(data[:m]); werr != nil {
				fmt.Fprintf(os.Stderr, "%s: write: %v\n", name, werr)
				return
			}
			data = data[m:]
			total += m
		}
		if err == io.EOF {
			fmt.Fprintf(os.Stderr, "%s: close_notify after %d bytes, %s resumed=%v\n", name,
				total, tls.CipherSuiteName(c.ConnectionState().CipherSuite),
				c.ConnectionState().DidResume)
			c.CloseWrite()
			return
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: read: %v\n", name, err)
			return
		}
	}
}

func serve(l net.Listener, cfg *tls.Config, name string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go echo(tls.Server(c, cfg), name)
	}
}

// relay copies src to dst, flipping a bit of the byte at offset at (if >= 0),
// then half-closes dst
func relay(dst, src net.Conn, at int) {
	buf := make([]byte, 32*1024)
	off := 0
	for {
		n, err := src.Read(buf)
		if at >= off && at < off+n {
			buf[at-off] ^= 0x10
		}
		off += n
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.(*net.TCPConn).CloseWrite() // half-close: the other direction goes on
}

func tamper(l net.Listener, target string, s2c bool) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		a, b := -1, 30000
		if !s2c {
			a, b = 30000, -1
		}
		go func() {
			done := make(chan bool)
			go func() { relay(s, c, a); done <- true }()
			relay(c, s, b)
			<-done
			c.Close()
			s.Close()
		}()
	}
}

func listen() net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	return l
}

func main() {
	crt := cert()
	all := &tls.Config{Certificates: []tls.Certificate{crt}}
	chacha := &tls.Config{Certificates: []tls.Certificate{crt}, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}
	la, lc, ls, lr := listen(), listen(), listen(), listen()
	go serve(la, all, "all")
	go serve(lc, chacha, "chacha")
	go tamper(ls, la.Addr().String(), true)
	go tamper(lr, la.Addr().String(), false)
	port := func(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }
	fmt.Printf("PORTS %d %d %d %d\n", port(la), port(lc), port(ls), port(lr))
	os.Stdout.Sync()
	select {}
}
