// Several wirecall nodes on one real Redis, with centrifuge-go clients connected
// to different nodes. The cluster-fixture process (tests/bin/cluster_fixture.rs)
// runs the redis-server, three node processes, a TCP proxy standing in for a load
// balancer, and a worker publishing through Redis; it speaks the sdk-fixture's
// line protocol.
package sdk_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/centrifugal/centrifuge-go"
)

const clusterChannel = "news:cluster-go"

type cluster struct {
	*fixture
	nodes []int
	proxy int
}

func clusterPath() string {
	if p := os.Getenv("WIRECALL_CLUSTER_FIXTURE"); p != "" {
		return p
	}
	p, _ := filepath.Abs(filepath.Join("..", "..", "..", "target", "debug", "cluster-fixture"))
	return p
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	f, ready := launch(t, clusterPath())
	var layout struct {
		Nodes []int `json:"nodes"`
		Proxy int   `json:"proxy"`
	}
	if !strings.HasPrefix(ready, "READY ") || json.Unmarshal([]byte(ready[len("READY "):]), &layout) != nil {
		t.Fatalf("unexpected first cluster line %q", ready)
	}
	return &cluster{fixture: f, nodes: layout.Nodes, proxy: layout.Proxy}
}

func (c *cluster) url(index int) string {
	return fmt.Sprintf("ws://127.0.0.1:%d/connection/websocket", c.nodes[index])
}

// node sends a command to one node's own fixture.
func (c *cluster) node(index int, command map[string]any) json.RawMessage {
	c.t.Helper()
	return c.do(map[string]any{"cmd": "node", "index": index, "command": command})
}

func (c *cluster) tokenFor(user string) string {
	c.t.Helper()
	var token string
	if err := json.Unmarshal(c.node(0, map[string]any{"cmd": "token", "user": user, "exp_in": 3600}), &token); err != nil {
		c.t.Fatalf("token answer: %v", err)
	}
	return token
}

func (c *cluster) connectedAt(endpoint, user string) *centrifuge.Client {
	c.t.Helper()
	client, ev := c.newClientAt(endpoint, centrifuge.Config{Token: c.tokenFor(user)})
	if err := client.Connect(); err != nil {
		c.t.Fatalf("Connect: %v", err)
	}
	waitFor(c.t, ev.connected, user+" connected")
	return client
}

type offsetData struct {
	Offset uint64
	Data   string
}

func nextPublications(t *testing.T, ev *subEvents, count int) []offsetData {
	t.Helper()
	got := make([]offsetData, 0, count)
	for range count {
		p := waitFor(t, ev.publications, "publication")
		got = append(got, offsetData{p.Offset, string(p.Data)})
	}
	return got
}

func recoverable() centrifuge.SubscriptionConfig {
	return centrifuge.SubscriptionConfig{Recoverable: true, Positioned: true}
}

// A client publish on node 0, a server publish on node 1 and the worker's Redis
// publisher reach subscribers on all three nodes once, in offset order.
func TestClusterDeliversEveryPublicationOnceInOrder(t *testing.T) {
	c := startCluster(t)
	subs := make([]*subEvents, 0, 3)
	var first *centrifuge.Subscription
	for index := range 3 {
		client := c.connectedAt(c.url(index), fmt.Sprintf("go%d", index))
		sub, ev, _ := subscribed(t, client, clusterChannel, recoverable())
		if first == nil {
			first = sub
		}
		subs = append(subs, ev)
	}
	if _, err := first.Publish(ctxTimeout(t), []byte(`{"from":"client"}`)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	c.node(1, map[string]any{"cmd": "publish", "channel": clusterChannel, "data": map[string]any{"from": "node1"}})
	c.do(map[string]any{"cmd": "worker_publish", "channel": clusterChannel, "data": map[string]any{"from": "worker"}})
	want := []offsetData{{1, `{"from":"client"}`}, {2, `{"from":"node1"}`}, {3, `{"from":"worker"}`}}
	for i, ev := range subs {
		if got := nextPublications(t, ev, 3); !reflect.DeepEqual(got, want) {
			t.Fatalf("subscriber on node %d got %v, want %v", i, got, want)
		}
	}
	c.node(2, map[string]any{"cmd": "publish", "channel": clusterChannel, "data": map[string]any{"marker": true}})
	for i, ev := range subs {
		if got := nextPublications(t, ev, 1); got[0].Offset != 4 {
			t.Fatalf("subscriber on node %d: the marker is not next: %v", i, got)
		}
	}
}

// Through the load balancer (the fixture's proxy) on node 0; with no backend three
// publications are made; the client comes back through node 1 and recovers them.
func TestClusterMovedClientRecoversWhatItMissed(t *testing.T) {
	c := startCluster(t)
	client := c.connectedAt(fmt.Sprintf("ws://127.0.0.1:%d/connection/websocket", c.proxy), "mover")
	sub, ev, _ := subscribed(t, client, clusterChannel, recoverable())
	subscribing := make(chan struct{}, 1)
	sub.OnSubscribing(func(centrifuge.SubscribingEvent) { subscribing <- struct{}{} })
	publish := func(n int) {
		c.node(2, map[string]any{"cmd": "publish", "channel": clusterChannel, "data": map[string]any{"n": n}})
	}
	publish(1)
	nextPublications(t, ev, 1)
	c.do(map[string]any{"cmd": "proxy_to", "index": nil})
	waitFor(t, subscribing, "subscribing after the connection dropped")
	for n := 2; n <= 4; n++ {
		publish(n)
	}
	c.do(map[string]any{"cmd": "proxy_to", "index": 1})
	again := waitFor(t, ev.subscribed, "resubscribed through node 1")
	if !again.WasRecovering || !again.Recovered {
		t.Fatalf("resubscribed %+v, want recovered", again)
	}
	want := []offsetData{{2, `{"n":2}`}, {3, `{"n":3}`}, {4, `{"n":4}`}}
	if got := nextPublications(t, ev, 3); !reflect.DeepEqual(got, want) {
		t.Fatalf("recovered %v, want %v", got, want)
	}
}

// Presence asked on node 0 counts the subscribers of nodes 1 and 2 too.
func TestClusterPresenceSpansTheNodes(t *testing.T) {
	c := startCluster(t)
	var subs []*centrifuge.Subscription
	for index := range 3 {
		client := c.connectedAt(c.url(index), fmt.Sprintf("p%d", index))
		sub, _, _ := subscribed(t, client, clusterChannel, centrifuge.SubscriptionConfig{})
		subs = append(subs, sub)
	}
	stats, err := subs[0].PresenceStats(ctxTimeout(t))
	if err != nil {
		t.Fatalf("PresenceStats: %v", err)
	}
	if stats.NumClients != 3 || stats.NumUsers != 3 {
		t.Fatalf("presence stats %+v, want 3 clients of 3 users", stats)
	}
	presence, err := subs[0].Presence(ctxTimeout(t))
	if err != nil {
		t.Fatalf("Presence: %v", err)
	}
	users := map[string]bool{}
	for _, info := range presence.Clients {
		users[info.User] = true
	}
	if !reflect.DeepEqual(users, map[string]bool{"p0": true, "p1": true, "p2": true}) {
		t.Fatalf("presence users %v", users)
	}
}
