// gofrpc: a tiny frpc written against Go's own TLS, AES-CFB and hashicorp/yamux (from
// Debian's golang-github-hashicorp-yamux-dev), used only to check the test frps
// (ufrpc-test-frps) independently of ufrpc's proto/ code: login with a token key,
// AES-128-CFB control (PBKDF2-SHA1(token, "frp", 64, 16)), one tcp proxy, a work
// connection per ReqWorkConn, splice to a local port. Test code, not product; it
// is not an frpc replacement (no reconnects, no heartbeats).
package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/yamux"
)

func pbkdf2(pw, salt []byte, iter, keyLen int) []byte {
	prf := hmac.New(sha1.New, pw)
	prf.Write(salt)
	prf.Write([]byte{0, 0, 0, 1})
	u := prf.Sum(nil)
	t := append([]byte{}, u...)
	for i := 1; i < iter; i++ {
		prf.Reset()
		prf.Write(u)
		u = prf.Sum(nil)
		for j := range t {
			t[j] ^= u[j]
		}
	}
	return t[:keyLen]
}

func writeMsg(w io.Writer, t byte, v interface{}) {
	b, _ := json.Marshal(v)
	buf := make([]byte, 9+len(b))
	buf[0] = t
	binary.BigEndian.PutUint64(buf[1:], uint64(len(b)))
	copy(buf[9:], b)
	if _, err := w.Write(buf); err != nil {
		panic(err)
	}
}
func readMsg(r io.Reader) (byte, map[string]interface{}) {
	h := make([]byte, 9)
	if _, err := io.ReadFull(r, h); err != nil {
		panic(err)
	}
	n := binary.BigEndian.Uint64(h[1:])
	b := make([]byte, n)
	io.ReadFull(r, b)
	m := map[string]interface{}{}
	json.Unmarshal(b, &m)
	return h[0], m
}

var port = flag.Int("port", 7000, "")
var token = flag.String("token", "", "")
var mux = flag.Bool("mux", true, "")
var useTLS = flag.Bool("tls", false, "")
var remote = flag.Int("remote", 0, "")
var local = flag.Int("local", 0, "")
var sess *yamux.Session

func dial() net.Conn {
	if *mux && sess != nil {
		s, err := sess.OpenStream()
		if err != nil {
			panic(err)
		}
		return s
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(*port))
	if err != nil {
		panic(err)
	}
	if *useTLS {
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	}
	return c
}

func main() {
	flag.Parse()
	key := pbkdf2([]byte(*token), []byte("frp"), 64, 16)
	if *mux {
		c := dial()
		cfg := yamux.DefaultConfig()
		cfg.MaxStreamWindowSize = 6 * 1024 * 1024
		cfg.LogOutput = io.Discard
		var err error
		sess, err = yamux.Client(c, cfg)
		if err != nil {
			panic(err)
		}
	}
	ctl := dial()
	ts := time.Now().Unix()
	sum := md5.Sum([]byte(*token + strconv.FormatInt(ts, 10)))
	writeMsg(ctl, 'o', map[string]interface{}{"version": "0.70.1", "hostname": "go", "os": "linux", "arch": "amd64",
		"privilege_key": hex.EncodeToString(sum[:]), "timestamp": ts, "client_spec": map[string]interface{}{}, "pool_count": 1})
	t, m := readMsg(ctl)
	fmt.Println("loginresp", string(t), m)
	if m["error"] != nil {
		os.Exit(1)
	}
	runID := m["run_id"].(string)
	iv := make([]byte, 16)
	rand.Read(iv)
	blk, _ := aes.NewCipher(key)
	ctl.Write(iv)
	enc := cipher.StreamWriter{S: cipher.NewCFBEncrypter(blk, iv), W: ctl}
	writeMsg(enc, 'p', map[string]interface{}{"proxy_name": "echo", "proxy_type": "tcp", "remote_port": *remote})
	riv := make([]byte, 16)
	io.ReadFull(ctl, riv)
	dec := cipher.StreamReader{S: cipher.NewCFBDecrypter(blk, riv), R: ctl}
	for {
		t, m := readMsg(dec)
		fmt.Println("ctl", string(t), m)
		if t == 'r' {
			go func() {
				w := dial()
				writeMsg(w, 'w', map[string]interface{}{"run_id": runID})
				t, m := readMsg(w)
				fmt.Println("work", string(t), m)
				l, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(*local))
				if err != nil {
					w.Close()
					return
				}
				go func() { io.Copy(l, w); l.(*net.TCPConn).CloseWrite() }()
				io.Copy(w, l)
				w.Close()
			}()
		}
	}
}
