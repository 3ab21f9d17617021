package whip

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/live/whip/whiptest"
)

// fakeNLB is the test's stand-in for CloudFront and the NLB in front of
// several ingest tasks. Offers (HTTP) go to the tasks in turn, as new
// connections to the NLB's TCP listener do. Each new UDP flow to its ICE
// address goes to a task of the balancer's own choosing, whichever task
// answered the session's offer: the NLB hashes the flow's 5-tuple. Here it
// chooses in turn too, starting one task later than the offers, so that
// every flow lands on a task that did not answer its offer: the case a
// flow hash hits half the time with two tasks, made certain.
type fakeNLB struct {
	http  *httptest.Server
	udp   net.PacketConn
	tasks []*fixture
	mu    sync.Mutex
	took  []int                   // the task each offer went to, in order
	flows map[string]*net.UDPConn // by publisher address: to a task
	wg    sync.WaitGroup
}

func newFakeNLB(t *testing.T, udpAddr string, tasks []*fixture) *fakeNLB {
	t.Helper()
	udp, err := net.ListenPacket("udp4", udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNLB{udp: udp, tasks: tasks, flows: map[string]*net.UDPConn{}}
	next := 0
	n.http = httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		n.mu.Lock()
		i := next % len(tasks)
		next++
		if pr.In.Method == http.MethodPost {
			n.took = append(n.took, i)
		}
		n.mu.Unlock()
		u, _ := url.Parse(tasks[i].url)
		pr.SetURL(u)
	}})
	n.wg.Go(n.relay)
	t.Cleanup(func() {
		n.http.Close()
		_ = udp.Close()
		n.mu.Lock()
		for _, c := range n.flows {
			_ = c.Close()
		}
		n.mu.Unlock()
		n.wg.Wait()
	})
	return n
}

// relay forwards each publisher's datagrams to its flow's task, and the
// task's back to the publisher from the balancer's address.
func (n *fakeNLB) relay() {
	buf := make([]byte, 1500)
	for {
		size, from, err := n.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		n.mu.Lock()
		c := n.flows[from.String()]
		if c == nil {
			task := n.tasks[(len(n.flows)+1)%len(n.tasks)]
			c, err = net.DialUDP("udp4", nil, task.s.ICEUDPAddr().(*net.UDPAddr))
			if err != nil {
				n.mu.Unlock()
				continue
			}
			n.flows[from.String()] = c
			n.wg.Go(func() {
				back := make([]byte, 1500)
				for {
					size, err := c.Read(back)
					if err != nil {
						return
					}
					_, _ = n.udp.WriteTo(back[:size], from)
				}
			})
		}
		n.mu.Unlock()
		_, _ = c.Write(buf[:size])
	}
}

func (n *fakeNLB) offers() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]int(nil), n.took...)
}

func (n *fakeNLB) flowCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.flows)
}

// sharedUDPPort finds a UDP port free on every one of ips.
func sharedUDPPort(t *testing.T, ips ...string) int {
	t.Helper()
	for range 50 {
		first, err := net.ListenPacket("udp4", ips[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := first.LocalAddr().(*net.UDPAddr).Port
		ok, held := true, []net.PacketConn{first}
		for _, ip := range ips[1:] {
			c, err := net.ListenPacket("udp4", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			_ = c.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no UDP port free on all of", ips)
	return 0
}

// TestSeveralTasks: two ingest tasks (127.0.0.2 and 127.0.0.3 are their
// public addresses) behind one balancer (127.0.0.4). When each task
// announces its own address in its candidates, every publisher's media
// goes straight to the task that answered its offer, which gets the
// stream; nothing goes through the balancer. When both announce the
// balancer's (before this change), the balancer sends the media to a
// task that has no such session and no publish gets through.
func TestSeveralTasks(t *testing.T) {
	for _, tc := range []struct {
		name      string
		announce  func(own string) string
		publishes int
		wantMedia bool
	}{
		{"each task's own address", func(own string) string { return own }, 4, true},
		{"the balancer's address", func(string) string { return "127.0.0.4" }, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := strconv.Itoa(sharedUDPPort(t, "127.0.0.2", "127.0.0.3", "127.0.0.4"))
			var tasks []*fixture
			for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
				tasks = append(tasks, start(t, func(s *Server) {
					s.UDPAddr, s.TCPAddr, s.PublicIPs = net.JoinHostPort(ip, port), "", []string{tc.announce(ip)}
					s.ConnectTimeout = 3 * time.Second
				}))
			}
			nlb := newFakeNLB(t, net.JoinHostPort("127.0.0.4", port), tasks)
			for i := range tc.publishes {
				name := "cam" + strconv.Itoa(i)
				p, err := whiptest.Publish(context.Background(), nlb.http.URL+"/whip/"+name, name+".good", testClip(t),
					whiptest.Options{SendFor: time.Minute, BehindNAT: true})
				if err != nil {
					t.Fatalf("publish %s: %v", name, err)
				}
				took := nlb.offers()[i]
				feeds := tasks[took].hub.claimed()
				if len(feeds) == 0 {
					t.Fatalf("%s: task %d answered but claimed no feed", name, took)
				}
				r := feeds[len(feeds)-1]
				started := false
				select {
				case <-r.started:
					started = true
					if !tc.wantMedia {
						t.Errorf("%s: the media reached task %d through the balancer", name, took)
					}
				case <-r.ended:
					if tc.wantMedia {
						t.Errorf("%s: task %d answered the offer and got no media: %v", name, took, r.endErr)
					} else if !errors.Is(r.endErr, errNoConnect) {
						t.Errorf("%s: the feed ended with %v, want %v", name, r.endErr, errNoConnect)
					}
				case <-time.After(15 * time.Second):
					t.Fatalf("%s: neither media nor the connect timeout on task %d", name, took)
				}
				if tc.wantMedia && started {
					deadline := time.Now().Add(5 * time.Second)
					for len(r.bytes()) == 0 && time.Now().Before(deadline) {
						time.Sleep(20 * time.Millisecond)
					}
					if len(r.bytes()) == 0 {
						t.Errorf("%s: task %d's feed started and got no bytes", name, took)
					}
				}
				_ = p.Close(false) // the DELETE could reach the other task: the connection's close ends it
				wait(t, r.ended, 10*time.Second, name+"'s feed to end")
			}
			// Offers went to both tasks, and each claimed only its own.
			if got := nlb.offers(); len(got) != tc.publishes || got[0] == got[1] {
				t.Errorf("offers went to tasks %v", got)
			}
			for i, f := range tasks {
				if n := len(f.hub.claimed()); n != tc.publishes/2 {
					t.Errorf("task %d claimed %d feeds, want %d", i, n, tc.publishes/2)
				}
			}
			if n := nlb.flowCount(); tc.wantMedia && n != 0 {
				t.Errorf("%d UDP flows went through the balancer, want none", n)
			} else if !tc.wantMedia && n != tc.publishes {
				t.Errorf("%d UDP flows through the balancer, want %d", n, tc.publishes)
			}
		})
	}
}
