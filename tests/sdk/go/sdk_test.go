// End-to-end tests: the official centrifuge-go SDK against the wirecall sdk-fixture
// server. Run with `go test ./...` in this directory.
//
// Each test starts its own fixture process, talks to it over stdin/stdout (mint
// tokens, publish from the server side, restart) and drives a real SDK client.
// Tests wait on SDK events (buffered channels fed by the SDK callbacks); timeouts
// are only hang guards.
package sdk_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
)

const (
	timeout = 10 * time.Second // hang guard for every wait
	user    = "u1"
	news    = "news:updates" // a channel in the `news` namespace
)

// ---------------------------------------------------------------------------
// helpers

func fixturePath() string {
	if p := os.Getenv("WIRECALL_FIXTURE"); p != "" {
		return p
	}
	// go test runs in the package directory: tests/sdk/go.
	p, _ := filepath.Abs(filepath.Join("..", "..", "..", "target", "debug", "sdk-fixture"))
	return p
}

// waitFor returns the next value from ch, failing the test after the timeout.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
	panic("unreachable")
}

// syncBuffer collects the fixture's stderr.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is one sdk-fixture process: `READY <port>` on stdout, then one JSON
// command per line on stdin, answered by `OK <json>` or `ERR <message>`.
type fixture struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	exited chan struct{}
	stderr *syncBuffer
	url    string
	// protobuf: the clients speak the centrifuge-protobuf subprotocol
	// (NewProtobufClient); payloads are the same JSON bytes either way.
	protobuf bool
}

func startFixture(t *testing.T) *fixture {
	t.Helper()
	f, ready := launch(t, fixturePath())
	var port int
	if _, err := fmt.Sscanf(ready, "READY %d", &port); err != nil {
		t.Fatalf("unexpected first fixture line %q", ready)
	}
	f.url = fmt.Sprintf("ws://127.0.0.1:%d/connection/websocket", port)
	return f
}

// inEachEncoding runs scenario as two subtests, "json" and "protobuf", each
// with a fresh fixture whose clients speak that encoding.
func inEachEncoding(t *testing.T, scenario func(t *testing.T, f *fixture)) {
	for _, protobuf := range []bool{false, true} {
		name := map[bool]string{false: "json", true: "protobuf"}[protobuf]
		t.Run(name, func(t *testing.T) {
			f := startFixture(t)
			f.protobuf = protobuf
			scenario(t, f)
		})
	}
}

// launch starts a fixture process (the sdk-fixture, or the cluster fixture,
// which speaks the same line protocol) and returns it with its READY line.
func launch(t *testing.T, path string) (*fixture, string) {
	t.Helper()
	f := &fixture{t: t, lines: make(chan string, 16), exited: make(chan struct{}), stderr: &syncBuffer{}}
	f.cmd = exec.Command(path)
	f.cmd.Stderr = f.stderr
	var err error
	if f.stdin, err = f.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	go func() {
		scanner := bufio.NewScanner(stdout)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			f.lines <- scanner.Text()
		}
		close(f.lines)
	}()
	go func() {
		_ = f.cmd.Wait()
		close(f.exited)
	}()
	t.Cleanup(f.stop)
	return f, f.nextLine("READY line")
}

func (f *fixture) nextLine(what string) string {
	f.t.Helper()
	select {
	case line, ok := <-f.lines:
		if !ok {
			f.t.Fatalf("fixture exited while waiting for %s", what)
		}
		return line
	case <-time.After(timeout):
		f.t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
	panic("unreachable")
}

// do sends one command and returns the JSON after `OK `; `ERR ...` fails the test.
func (f *fixture) do(command map[string]any) json.RawMessage {
	f.t.Helper()
	line, _ := json.Marshal(command)
	if _, err := f.stdin.Write(append(line, '\n')); err != nil {
		f.t.Fatalf("write fixture command: %v", err)
	}
	answer := f.nextLine(fmt.Sprintf("fixture answer to %s", line))
	if !strings.HasPrefix(answer, "OK ") {
		f.t.Fatalf("fixture command %s failed: %s", line, answer)
	}
	return json.RawMessage(answer[3:])
}

func (f *fixture) token(user string, expIn int, extra map[string]any) string {
	f.t.Helper()
	command := map[string]any{"cmd": "token", "user": user, "exp_in": expIn}
	for k, v := range extra {
		command[k] = v
	}
	var token string
	if err := json.Unmarshal(f.do(command), &token); err != nil {
		f.t.Fatalf("token answer: %v", err)
	}
	return token
}

type streamPosition struct {
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
}

func (f *fixture) publish(channel string, data any) streamPosition {
	f.t.Helper()
	var pos streamPosition
	if err := json.Unmarshal(f.do(map[string]any{"cmd": "publish", "channel": channel, "data": data}), &pos); err != nil {
		f.t.Fatalf("publish answer: %v", err)
	}
	return pos
}

func (f *fixture) stop() {
	if stderr := f.stderr.String(); f.t.Failed() && stderr != "" {
		f.t.Logf("--- fixture stderr ---\n%s--- end of fixture stderr ---", stderr)
	}
	_, _ = f.stdin.Write([]byte(`{"cmd":"quit"}` + "\n"))
	_ = f.stdin.Close()
	select {
	case <-f.exited:
	case <-time.After(5 * time.Second):
		_ = f.cmd.Process.Kill()
		<-f.exited
	}
}

// clientEvents records client-level events.
type clientEvents struct {
	connecting       chan centrifuge.ConnectingEvent
	connected        chan centrifuge.ConnectedEvent
	disconnected     chan centrifuge.DisconnectedEvent
	errors           chan centrifuge.ErrorEvent
	serverSubscribed chan centrifuge.ServerSubscribedEvent
	publications     chan centrifuge.ServerPublicationEvent
}

// newClient makes a client of this fixture that records its events; short
// reconnect delays keep the restart test quick. It is closed when the test ends.
func (f *fixture) newClient(config centrifuge.Config) (*centrifuge.Client, *clientEvents) {
	return f.newClientAt(f.url, config)
}

// newClientAt is newClient for a client of another address (a node of a cluster).
func (f *fixture) newClientAt(endpoint string, config centrifuge.Config) (*centrifuge.Client, *clientEvents) {
	config.MinReconnectDelay = 50 * time.Millisecond
	config.MaxReconnectDelay = 500 * time.Millisecond
	config.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil } // never a proxy
	var c *centrifuge.Client
	if f.protobuf {
		c = centrifuge.NewProtobufClient(endpoint, config)
	} else {
		c = centrifuge.NewJsonClient(endpoint, config)
	}
	ev := &clientEvents{
		connecting:       make(chan centrifuge.ConnectingEvent, 100),
		connected:        make(chan centrifuge.ConnectedEvent, 100),
		disconnected:     make(chan centrifuge.DisconnectedEvent, 100),
		errors:           make(chan centrifuge.ErrorEvent, 100),
		serverSubscribed: make(chan centrifuge.ServerSubscribedEvent, 100),
		publications:     make(chan centrifuge.ServerPublicationEvent, 100),
	}
	c.OnConnecting(func(e centrifuge.ConnectingEvent) { ev.connecting <- e })
	c.OnConnected(func(e centrifuge.ConnectedEvent) { ev.connected <- e })
	c.OnDisconnected(func(e centrifuge.DisconnectedEvent) { ev.disconnected <- e })
	c.OnError(func(e centrifuge.ErrorEvent) { ev.errors <- e })
	c.OnSubscribed(func(e centrifuge.ServerSubscribedEvent) { ev.serverSubscribed <- e })
	c.OnPublication(func(e centrifuge.ServerPublicationEvent) { ev.publications <- e })
	f.t.Cleanup(c.Close)
	return c, ev
}

// connectedClient returns a client connected with a valid token for user.
func (f *fixture) connectedClient(user string) (*centrifuge.Client, *clientEvents, string) {
	f.t.Helper()
	c, ev := f.newClient(centrifuge.Config{Token: f.token(user, 3600, nil)})
	if err := c.Connect(); err != nil {
		f.t.Fatalf("Connect: %v", err)
	}
	connected := waitFor(f.t, ev.connected, "connected event")
	return c, ev, connected.ClientID
}

// subEvents records subscription events.
type subEvents struct {
	subscribed   chan centrifuge.SubscribedEvent
	unsubscribed chan centrifuge.UnsubscribedEvent
	publications chan centrifuge.PublicationEvent
}

func newSub(t *testing.T, c *centrifuge.Client, channel string, config centrifuge.SubscriptionConfig) (*centrifuge.Subscription, *subEvents) {
	t.Helper()
	sub, err := c.NewSubscription(channel, config)
	if err != nil {
		t.Fatalf("NewSubscription(%s): %v", channel, err)
	}
	ev := &subEvents{
		subscribed:   make(chan centrifuge.SubscribedEvent, 100),
		unsubscribed: make(chan centrifuge.UnsubscribedEvent, 100),
		publications: make(chan centrifuge.PublicationEvent, 100),
	}
	sub.OnSubscribed(func(e centrifuge.SubscribedEvent) { ev.subscribed <- e })
	sub.OnUnsubscribed(func(e centrifuge.UnsubscribedEvent) { ev.unsubscribed <- e })
	sub.OnPublication(func(e centrifuge.PublicationEvent) { ev.publications <- e })
	if err := sub.Subscribe(); err != nil {
		t.Fatalf("Subscribe(%s): %v", channel, err)
	}
	return sub, ev
}

// subscribed returns a subscription to channel that reached subscribed.
func subscribed(t *testing.T, c *centrifuge.Client, channel string, config centrifuge.SubscriptionConfig) (*centrifuge.Subscription, *subEvents, centrifuge.SubscribedEvent) {
	t.Helper()
	sub, ev := newSub(t, c, channel, config)
	return sub, ev, waitFor(t, ev.subscribed, "subscribed event on "+channel)
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// assertJSON checks that the JSON bytes got decode to the same value as want.
func assertJSON(t *testing.T, got []byte, want any) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("invalid JSON %q: %v", got, err)
	}
	wantBytes, _ := json.Marshal(want)
	_ = json.Unmarshal(wantBytes, &w)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got %s, want %s", got, wantBytes)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// ---------------------------------------------------------------------------
// tests

// A valid token connects; test.whoami reports the token's user and this client id.
func TestConnectWithValidToken(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		c, _, clientID := f.connectedClient(user)
		if c.State() != centrifuge.StateConnected || clientID == "" {
			t.Fatalf("state %s, client id %q", c.State(), clientID)
		}
		res, err := c.RPC(ctxTimeout(t), "test.whoami", []byte(`{}`))
		if err != nil {
			t.Fatalf("whoami: %v", err)
		}
		assertJSON(t, res.Data, map[string]any{"user": user, "client": clientID})
	})
}

// A token with a bad signature: the server closes with 3500, which is terminal.
func TestBadSignatureTokenIsRefused(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		c, ev := f.newClient(centrifuge.Config{Token: f.token(user, 3600, map[string]any{"bad_signature": true})})
		if err := c.Connect(); err != nil {
			t.Fatalf("Connect: %v", err)
		}
		d := waitFor(t, ev.disconnected, "disconnected event")
		if d.Code != 3500 || d.Reason != "invalid token" {
			t.Fatalf("disconnected with %d %q, want 3500 \"invalid token\"", d.Code, d.Reason)
		}
		// Disconnected is terminal: the SDK reconnects only from the connecting state.
		if c.State() != centrifuge.StateDisconnected {
			t.Fatalf("state %s, want disconnected", c.State())
		}
		if len(ev.connected) != 0 {
			t.Fatal("must not have connected")
		}
	})
}

// An expired token gets error 109; the SDK calls GetToken and connects with the new one.
func TestExpiredTokenCallsGetToken(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		expired := f.token(user, -60, nil)
		fresh := f.token(user, 3600, nil)
		var calls atomic.Int32
		c, ev := f.newClient(centrifuge.Config{
			Token: expired,
			GetToken: func(centrifuge.ConnectionTokenEvent) (string, error) {
				calls.Add(1)
				return fresh, nil
			},
		})
		if err := c.Connect(); err != nil {
			t.Fatalf("Connect: %v", err)
		}
		connected := waitFor(t, ev.connected, "connected event after token refresh")
		if n := calls.Load(); n != 1 {
			t.Fatalf("GetToken called %d times, want 1", n)
		}
		saw109 := false
		for len(ev.errors) > 0 {
			var replyErr *centrifuge.Error
			if e := <-ev.errors; errors.As(e.Error, &replyErr) && replyErr.Code == 109 {
				saw109 = true
			}
		}
		if !saw109 {
			t.Fatal("the SDK reported no connect error 109")
		}
		res, err := c.RPC(ctxTimeout(t), "test.whoami", []byte(`{}`))
		if err != nil {
			t.Fatalf("whoami: %v", err)
		}
		assertJSON(t, res.Data, map[string]any{"user": user, "client": connected.ClientID})
	})
}

// test.echo round-trips a nested object; test.fail returns *centrifuge.Error 1001.
func TestRPCSuccessAndFailure(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		c, _, _ := f.connectedClient(user)
		payload := map[string]any{
			"a":      1,
			"nested": map[string]any{"list": []any{1, "two", map[string]any{"three": 3.5}}, "flag": true, "nothing": nil},
			"text":   "héllo ✓",
		}
		res, err := c.RPC(ctxTimeout(t), "test.echo", mustJSON(payload))
		if err != nil {
			t.Fatalf("echo: %v", err)
		}
		assertJSON(t, res.Data, payload)

		_, err = c.RPC(ctxTimeout(t), "test.fail", []byte(`{}`))
		var replyErr *centrifuge.Error
		if !errors.As(err, &replyErr) {
			t.Fatalf("test.fail: got %v (%T), want *centrifuge.Error", err, err)
		}
		if replyErr.Code != 1001 || replyErr.Message != "custom app error" {
			t.Fatalf("test.fail: got %d %q", replyErr.Code, replyErr.Message)
		}
		if c.State() != centrifuge.StateConnected { // RPC errors never disconnect
			t.Fatalf("state %s after RPC error", c.State())
		}
	})
}

// A server-side publish reaches the subscription with exactly the published data.
func TestSubscribeReceivesServerPublication(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		c, _, _ := f.connectedClient(user)
		_, ev, _ := subscribed(t, c, news, centrifuge.SubscriptionConfig{})
		data := map[string]any{"headline": "hello", "tags": []any{"a", "b"}, "n": 1}
		f.publish(news, data)
		pub := waitFor(t, ev.publications, "publication")
		assertJSON(t, pub.Data, data)
	})
}

// The server subscribes the client to personal:#u1; a personal publish reaches the

// A subscriber publishes into news; another user's subscription receives the
// data with the publisher's client info.
func TestClientPublishReachesOtherSubscribers(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		publisher, _, publisherID := f.connectedClient(user)
		reader, _, _ := f.connectedClient("u2")
		_, readerEv, _ := subscribed(t, reader, news, centrifuge.SubscriptionConfig{})
		sub, _, _ := subscribed(t, publisher, news, centrifuge.SubscriptionConfig{})
		data := map[string]any{"from": "a client", "n": []any{1, 2}}
		if _, err := sub.Publish(ctxTimeout(t), mustJSON(data)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		got := waitFor(t, readerEv.publications, "client publication")
		assertJSON(t, got.Data, data)
		if got.Info == nil || got.Info.User != user || got.Info.Client != publisherID {
			t.Fatalf("publisher info %+v, want user %s client %s", got.Info, user, publisherID)
		}
	})
}

// client-level publication handler.
func TestPersonalChannel(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		_, ev, _ := f.connectedClient(user)
		channel := "personal:#" + user
		if sub := waitFor(t, ev.serverSubscribed, "server-side subscribed event"); sub.Channel != channel {
			t.Fatalf("server-side subscription to %q, want %q", sub.Channel, channel)
		}
		data := map[string]any{"note": "for you only"}
		f.do(map[string]any{"cmd": "personal", "user": user, "data": data})
		pub := waitFor(t, ev.publications, "personal publication")
		if pub.Channel != channel {
			t.Fatalf("publication on %q, want %q", pub.Channel, channel)
		}
		assertJSON(t, pub.Data, data)
	})
}

// Presence lists this client; stats count 1 client / 1 user; history returns the 3
// publications in order with their offsets.
func TestPresenceAndHistory(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		c, _, clientID := f.connectedClient(user)
		sub, _, _ := subscribed(t, c, news, centrifuge.SubscriptionConfig{})

		presence, err := sub.Presence(ctxTimeout(t))
		if err != nil {
			t.Fatalf("presence: %v", err)
		}
		info, ok := presence.Clients[clientID]
		if !ok || info.User != user || info.Client != clientID {
			t.Fatalf("presence %+v does not list client %s of user %s", presence.Clients, clientID, user)
		}

		stats, err := sub.PresenceStats(ctxTimeout(t))
		if err != nil {
			t.Fatalf("presence stats: %v", err)
		}
		if stats.NumClients != 1 || stats.NumUsers != 1 {
			t.Fatalf("presence stats %+v, want 1 client, 1 user", stats)
		}

		sent := []map[string]any{{"h": 1}, {"h": 2}, {"h": 3}}
		var offsets []uint64
		for _, d := range sent {
			offsets = append(offsets, f.publish(news, d).Offset)
		}
		history, err := sub.History(ctxTimeout(t), centrifuge.WithHistoryLimit(10))
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		if len(history.Publications) != len(sent) {
			t.Fatalf("history has %d publications, want %d", len(history.Publications), len(sent))
		}
		for i, p := range history.Publications {
			assertJSON(t, p.Data, sent[i])
			if p.Offset != offsets[i] || offsets[i] != offsets[0]+uint64(i) {
				t.Fatalf("publication %d: offset %d, fixture offsets %v", i, p.Offset, offsets)
			}
		}
		if history.Offset != offsets[2] || history.Epoch == "" {
			t.Fatalf("history position %d/%q, want offset %d and an epoch", history.Offset, history.Epoch, offsets[2])
		}
	})
}

// chat:#other_user is refused with 103 (permission denied), nope:x with 102.
func TestSubscribeRefused(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		c, _, _ := f.connectedClient(user)
		for _, tc := range []struct {
			channel string
			code    uint32
		}{{"chat:#other_user", 103}, {"nope:x", 102}} {
			_, ev := newSub(t, c, tc.channel, centrifuge.SubscriptionConfig{})
			u := waitFor(t, ev.unsubscribed, "unsubscribed event on "+tc.channel)
			if u.Code != tc.code {
				t.Fatalf("%s: unsubscribed with %d %q, want %d", tc.channel, u.Code, u.Reason, tc.code)
			}
			if len(ev.subscribed) != 0 {
				t.Fatalf("%s: must not have subscribed", tc.channel)
			}
		}
	})
}

// After a server restart (close 3001) the SDK reconnects, resubscribes with recovery
// and gets exactly the 3 publications made while it was away, in order.
func TestRestartRecoversMissedPublications(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		c, ev, _ := f.connectedClient(user)
		_, subEv, first := subscribed(t, c, news, centrifuge.SubscriptionConfig{Recoverable: true, Positioned: true})
		if !first.Recoverable || first.WasRecovering {
			t.Fatalf("first subscribed event %+v", first)
		}

		f.publish(news, map[string]any{"n": 0})
		before := waitFor(t, subEv.publications, "publication before restart")
		assertJSON(t, before.Data, map[string]any{"n": 0})

		missed := []map[string]any{{"n": 1}, {"n": 2}, {"n": 3}}
		var pubs []map[string]any
		for _, d := range missed {
			pubs = append(pubs, map[string]any{"channel": news, "data": d})
		}
		f.do(map[string]any{"cmd": "restart", "publish": pubs})

		// Connecting events: the one from Connect(), then the server's shutdown close.
		waitFor(t, ev.connecting, "connecting event from Connect()")
		if shutdown := waitFor(t, ev.connecting, "connecting event after restart"); shutdown.Code != 3001 {
			t.Fatalf("connecting after restart with %d %q, want 3001", shutdown.Code, shutdown.Reason)
		}

		again := waitFor(t, subEv.subscribed, "subscribed event after restart")
		if !again.WasRecovering || !again.Recovered {
			t.Fatalf("subscribed after restart %+v, want WasRecovering and Recovered", again)
		}
		for i, d := range missed {
			p := waitFor(t, subEv.publications, "recovered publication")
			assertJSON(t, p.Data, d)
			if want := before.Offset + uint64(i) + 1; p.Offset != want {
				t.Fatalf("recovered publication %d: offset %d, want %d", i, p.Offset, want)
			}
		}

		// Nothing else was delivered: the next thing the subscription sees is a new publish.
		f.publish(news, map[string]any{"n": "after"})
		after := waitFor(t, subEv.publications, "publication after recovery")
		assertJSON(t, after.Data, map[string]any{"n": "after"})
		if len(subEv.publications) != 0 || len(subEv.subscribed) != 0 {
			t.Fatalf("unexpected extra events: %d publications, %d subscribed", len(subEv.publications), len(subEv.subscribed))
		}
	})
}
