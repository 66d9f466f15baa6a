// frame_oracle: the framing half of the snappy oracle, using
// github.com/golang/snappy (the library frp uses) from Debian's
// /usr/share/gocode, built offline with GO111MODULE=off.
//
//	frame_oracle encode N  < raw    > framed   (snappy.NewWriter, Writes of N bytes)
//	frame_oracle decode    < framed > raw      (snappy.NewReader)
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/golang/snappy"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: frame_oracle encode N | decode")
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	switch os.Args[1] {
	case "encode":
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "bad write size")
			os.Exit(2)
		}
		raw, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		w := snappy.NewWriter(out) // unbuffered, as frp uses it
		for len(raw) > 0 {
			k := n
			if k > len(raw) {
				k = len(raw)
			}
			if _, err := w.Write(raw[:k]); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			raw = raw[k:]
		}
	case "decode":
		if _, err := io.Copy(out, snappy.NewReader(os.Stdin)); err != nil {
			fmt.Fprintln(os.Stderr, "decode:", err)
			os.Exit(1)
		}
	default:
		os.Exit(2)
	}
	if err := out.Flush(); err != nil {
		os.Exit(1)
	}
}
