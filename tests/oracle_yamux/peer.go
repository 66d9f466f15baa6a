// Oracle peer for ufrpc's yamux: hashicorp/yamux (Debian's copy) configured as frp
// configures it (6 MiB stream window, keepalive on).
//
//   peer server <keepalive_ms>         listen on 127.0.0.1:0, print "PORT <n>", accept
//                                      one connection, echo every stream until the
//                                      connection closes, print "OK streams=.. bytes=.. pings=.."
//   peer client <addr> <streams> <bytes_per_stream> <keepalive_ms>
//                                      open streams to our server, send a pattern,
//                                      read the echo back, verify, print "OK ..."
// Test code only.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

func config(keepaliveMs int) *yamux.Config {
	cfg := yamux.DefaultConfig()
	cfg.MaxStreamWindowSize = 6 * 1024 * 1024
	cfg.EnableKeepAlive = true
	cfg.KeepAliveInterval = time.Duration(keepaliveMs) * time.Millisecond
	cfg.ConnectionWriteTimeout = 5 * time.Second
	cfg.LogOutput = os.Stderr
	return cfg
}

func pattern(tag, off uint64) byte {
	x := off*0x9E3779B97F4A7C15 + tag*0x632BE59BD9B4E019
	return byte((x >> 56) ^ (off >> 9))
}

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", a...)
	os.Exit(1)
}

func server(keepaliveMs int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	conn, err := ln.Accept()
	if err != nil {
		fail("accept: %v", err)
	}
	sess, err := yamux.Server(conn, config(keepaliveMs))
	if err != nil {
		fail("session: %v", err)
	}
	var streams, bytes, pings int64
	// Explicit pings on top of the keepalive ones: each must be answered.
	go func() {
		for {
			time.Sleep(time.Duration(keepaliveMs) * time.Millisecond)
			if _, err := sess.Ping(); err != nil {
				return
			}
			atomic.AddInt64(&pings, 1)
		}
	}()
	var wg sync.WaitGroup
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			break
		}
		atomic.AddInt64(&streams, 1)
		wg.Add(1)
		go func(st *yamux.Stream) {
			defer wg.Done()
			n, _ := io.Copy(st, st)
			atomic.AddInt64(&bytes, n)
			st.Close()
		}(st)
	}
	wg.Wait()
	fmt.Printf("OK streams=%d bytes=%d pings=%d\n", streams, bytes, atomic.LoadInt64(&pings))
}

func client(addr string, nstreams int, perStream uint64, keepaliveMs int) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		fail("dial: %v", err)
	}
	sess, err := yamux.Client(conn, config(keepaliveMs))
	if err != nil {
		fail("session: %v", err)
	}
	var wg sync.WaitGroup
	var total int64
	errs := make(chan string, nstreams*2)
	for i := 0; i < nstreams; i++ {
		st, err := sess.OpenStream()
		if err != nil {
			fail("open: %v", err)
		}
		tag := uint64(300 + i)
		wg.Add(2)
		go func() {
			defer wg.Done()
			buf := make([]byte, 50000)
			var off uint64
			for off < perStream {
				n := uint64(len(buf))
				if perStream-off < n {
					n = perStream - off
				}
				for k := uint64(0); k < n; k++ {
					buf[k] = pattern(tag, off+k)
				}
				if _, err := st.Write(buf[:n]); err != nil {
					errs <- fmt.Sprintf("write: %v", err)
					return
				}
				off += n
			}
			// No Close() here: in this yamux version a local Close makes our own
			// Reads return EOF once the buffer is empty, so the reader closes.
		}()
		go func() {
			defer wg.Done()
			r := bufio.NewReaderSize(st, 65536)
			var off uint64
			buf := make([]byte, 65536)
			for {
				n, err := r.Read(buf)
				for k := 0; k < n; k++ {
					if buf[k] != pattern(tag, off+uint64(k)) {
						errs <- fmt.Sprintf("stream %d: bad byte at %d", st.StreamID(), off+uint64(k))
						return
					}
				}
				off += uint64(n)
				if off == perStream {
					st.Close() // FIN once the whole echo is back
					break
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					errs <- fmt.Sprintf("read: %v", err)
					return
				}
			}
			if off != perStream {
				errs <- fmt.Sprintf("stream %d: got %d of %d", st.StreamID(), off, perStream)
				return
			}
			atomic.AddInt64(&total, int64(off))
		}()
	}
	wg.Wait()
	select {
	case e := <-errs:
		fail("%s", e)
	default:
	}
	// Stay a little so our keepalive pings and the server's pings cross.
	time.Sleep(time.Duration(2*keepaliveMs) * time.Millisecond)
	rtt, err := sess.Ping()
	if err != nil {
		fail("ping: %v", err)
	}
	fmt.Printf("OK streams=%d bytes=%d rtt=%v\n", nstreams, total, rtt)
	sess.Close()
}

func main() {
	if len(os.Args) >= 3 && os.Args[1] == "server" {
		ka, _ := strconv.Atoi(os.Args[2])
		server(ka)
		return
	}
	if len(os.Args) >= 6 && os.Args[1] == "client" {
		n, _ := strconv.Atoi(os.Args[3])
		per, _ := strconv.ParseUint(os.Args[4], 10, 64)
		ka, _ := strconv.Atoi(os.Args[5])
		client(os.Args[2], n, per, ka)
		return
	}
	fmt.Fprintln(os.Stderr, "usage: peer server <keepalive_ms> | peer client <addr> <streams> <bytes> <keepalive_ms>")
	os.Exit(2)
}
