// Oracle peer for ufrpc's KCP: xtaci/kcp-go (Debian's copy) with frp's settings
// (10 data + 3 parity FEC shards, no block cipher, stream mode, nodelay 1/20/2/1,
// MTU 1350, no ack nodelay; windows 1024/1024 as frps's listener, 128/512 as
// frpc's dial). Its UDP socket drops loss_pct percent of the datagrams it sends
// and of those it receives.
//
//   peer server <loss_pct> <bytes>     listen on 127.0.0.1:0, print "PORT <n>",
//                                      accept one session, echo <bytes> bytes,
//                                      print "OK echoed=.. fec_recovered=.."
//   peer client <addr> <loss_pct> <bytes>
//                                      dial addr, send a pattern, read the echo
//                                      back, verify, print "OK ..."
// Test code only.
package main

import (
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kcp "github.com/xtaci/kcp-go"
)

type lossy struct {
	net.PacketConn
	pct  int
	mu   sync.Mutex
	rnd  *rand.Rand
	drop int64
}

func (l *lossy) lose() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rnd.Intn(100) < l.pct
}

func (l *lossy) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := l.PacketConn.ReadFrom(b)
		if err != nil || !l.lose() {
			return n, a, err
		}
		atomic.AddInt64(&l.drop, 1)
	}
}

func (l *lossy) WriteTo(b []byte, a net.Addr) (int, error) {
	if l.lose() {
		atomic.AddInt64(&l.drop, 1)
		return len(b), nil
	}
	return l.PacketConn.WriteTo(b, a)
}

func pattern(off int) byte { return byte((off*2654435761)>>13 ^ off>>8) }

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", a...)
	os.Exit(1)
}

func setup(s *kcp.UDPSession, snd, rcv int) {
	s.SetStreamMode(true)
	s.SetWriteDelay(true)
	s.SetNoDelay(1, 20, 2, 1)
	s.SetMtu(1350)
	s.SetWindowSize(snd, rcv)
	s.SetACKNoDelay(false)
}

func newLossy(pct int, seed int64) *lossy {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	// the lossy conn is not a *net.UDPConn, so kcp-go reads it one datagram at
	// a time; seeded for a repeatable pattern
	return &lossy{PacketConn: pc, pct: pct, rnd: rand.New(rand.NewSource(seed))}
}

func server(pct, total int) {
	l := newLossy(pct, 1)
	fmt.Printf("PORT %d\n", l.LocalAddr().(*net.UDPAddr).Port)
	os.Stdout.Sync()
	ln, err := kcp.ServeConn(nil, 10, 3, l)
	if err != nil {
		fail("serve: %v", err)
	}
	ln.SetDeadline(time.Now().Add(30 * time.Second))
	s, err := ln.AcceptKCP()
	if err != nil {
		fail("accept: %v", err)
	}
	setup(s, 1024, 1024)
	s.SetDeadline(time.Now().Add(100 * time.Second))
	buf := make([]byte, 65536)
	echoed := 0
	for echoed < total {
		n, err := s.Read(buf)
		if err != nil {
			fail("read after %d: %v", echoed, err)
		}
		for i := 0; i < n; i++ {
			if buf[i] != pattern(echoed+i) {
				fail("byte %d differs", echoed+i)
			}
		}
		if _, err := s.Write(buf[:n]); err != nil {
			fail("write: %v", err)
		}
		echoed += n
	}
	// let the last segments be acknowledged
	for i := 0; i < 200 && s.GetRTO() > 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("OK echoed=%d dropped=%d fec_recovered=%d retrans=%d\n", echoed,
		atomic.LoadInt64(&l.drop), kcp.DefaultSnmp.FECRecovered, kcp.DefaultSnmp.RetransSegs)
}

func client(addr string, pct, total int) {
	l := newLossy(pct, 2)
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		fail("resolve: %v", err)
	}
	s, err := kcp.NewConn2(raddr, nil, 10, 3, l)
	if err != nil {
		fail("dial: %v", err)
	}
	setup(s, 128, 512)
	s.SetDeadline(time.Now().Add(100 * time.Second))
	go func() {
		buf := make([]byte, 32768)
		for off := 0; off < total; {
			n := len(buf)
			if total-off < n {
				n = total - off
			}
			for i := 0; i < n; i++ {
				buf[i] = pattern(off + i)
			}
			if _, err := s.Write(buf[:n]); err != nil {
				fail("write: %v", err)
			}
			off += n
		}
	}()
	buf := make([]byte, 65536)
	got := 0
	for got < total {
		n, err := io.ReadAtLeast(s, buf, 1)
		if err != nil {
			fail("read after %d: %v", got, err)
		}
		for i := 0; i < n; i++ {
			if buf[i] != pattern(got+i) {
				fail("echo byte %d differs", got+i)
			}
		}
		got += n
	}
	// acknowledgements go out at the next 20 ms flush: stay for them, so the C
	// server sees everything acknowledged
	time.Sleep(500 * time.Millisecond)
	fmt.Printf("OK received=%d dropped=%d fec_recovered=%d retrans=%d\n", got,
		atomic.LoadInt64(&l.drop), kcp.DefaultSnmp.FECRecovered, kcp.DefaultSnmp.RetransSegs)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage")
	}
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			fail("bad number %q", s)
		}
		return n
	}
	switch os.Args[1] {
	case "server":
		server(atoi(os.Args[2]), atoi(os.Args[3]))
	case "client":
		client(os.Args[2], atoi(os.Args[3]), atoi(os.Args[4]))
	default:
		fail("usage")
	}
}
