// xform_oracle: frp's per-proxy work-stream layering (golib io.WithEncryption
// wrapped by io.WithCompression: snappy framing inside AES-128-CFB) rebuilt from
// Go's standard library (crypto/aes, crypto/cipher, crypto/hmac, crypto/sha1)
// and github.com/golang/snappy (Debian's /usr/share/gocode, built offline).
//
//	xform_oracle encode TOKEN IVHEX N COMP < raw  > wire  (Writes of N bytes)
//	xform_oracle decode TOKEN COMP        < wire > raw
//
// COMP is 1 for compression+encryption, 0 for encryption only. The key is
// PBKDF2-HMAC-SHA1(TOKEN, "frp", 64, 16), computed here independently.
package main

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/golang/snappy"
)

func pbkdf2SHA1(password, salt []byte, iter, keyLen int) []byte {
	prf := hmac.New(sha1.New, password)
	var out []byte
	for block := uint32(1); len(out) < keyLen; block++ {
		prf.Reset()
		prf.Write(salt)
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], block)
		prf.Write(b[:])
		u := prf.Sum(nil)
		t := append([]byte(nil), u...)
		for i := 1; i < iter; i++ {
			prf.Reset()
			prf.Write(u)
			u = prf.Sum(nil)
			for j := range t {
				t[j] ^= u[j]
			}
		}
		out = append(out, t...)
	}
	return out[:keyLen]
}

// cfbWriter: IV in clear on the first Write, then one continuous CFB stream.
type cfbWriter struct {
	w      io.Writer
	block  cipher.Block
	iv     []byte
	stream cipher.Stream
}

func (c *cfbWriter) Write(p []byte) (int, error) {
	if c.stream == nil {
		if _, err := c.w.Write(c.iv); err != nil {
			return 0, err
		}
		c.stream = cipher.NewCFBEncrypter(c.block, c.iv)
	}
	buf := make([]byte, len(p))
	c.stream.XORKeyStream(buf, p)
	return c.w.Write(buf)
}

type cfbReader struct {
	r      io.Reader
	block  cipher.Block
	stream cipher.Stream
}

func (c *cfbReader) Read(p []byte) (int, error) {
	if c.stream == nil {
		iv := make([]byte, aes.BlockSize)
		if _, err := io.ReadFull(c.r, iv); err != nil {
			return 0, err
		}
		c.stream = cipher.NewCFBDecrypter(c.block, iv)
	}
	n, err := c.r.Read(p)
	c.stream.XORKeyStream(p[:n], p[:n])
	return n, err
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "xform_oracle:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: xform_oracle encode TOKEN IVHEX N COMP | decode TOKEN COMP")
		os.Exit(2)
	}
	key := pbkdf2SHA1([]byte(os.Args[2]), []byte("frp"), 64, 16)
	block, err := aes.NewCipher(key)
	if err != nil {
		fail(err)
	}
	out := bufio.NewWriter(os.Stdout)
	switch os.Args[1] {
	case "encode":
		iv, err := hex.DecodeString(os.Args[3])
		if err != nil || len(iv) != 16 || len(os.Args) < 6 {
			fail(fmt.Errorf("bad iv or arguments"))
		}
		n, err := strconv.Atoi(os.Args[4])
		if err != nil || n <= 0 {
			fail(fmt.Errorf("bad write size"))
		}
		var w io.Writer = &cfbWriter{w: out, block: block, iv: iv}
		if os.Args[5] == "1" {
			w = snappy.NewWriter(w)
		}
		raw, err := io.ReadAll(os.Stdin)
		if err != nil {
			fail(err)
		}
		for len(raw) > 0 {
			k := n
			if k > len(raw) {
				k = len(raw)
			}
			if _, err := w.Write(raw[:k]); err != nil {
				fail(err)
			}
			raw = raw[k:]
		}
	case "decode":
		var r io.Reader = &cfbReader{r: bufio.NewReader(os.Stdin), block: block}
		if os.Args[3] == "1" {
			r = snappy.NewReader(r)
		}
		if _, err := io.Copy(out, r); err != nil {
			fail(err)
		}
	default:
		os.Exit(2)
	}
	if err := out.Flush(); err != nil {
		fail(err)
	}
}
