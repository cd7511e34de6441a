// The generated Go publisher (Publisher in example.com/fixtureclient)
// against the Rust helpers: the same operation from Rust (the fixture's
// `messaging` and `typed` commands over the HTTP API client) and from Go
// gives the same JSON at a centrifuge-go subscriber (timestamps aside) and
// the same delivered / count results; then the documented errors.
package generated_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"

	api "example.com/fixtureclient"
	"github.com/centrifugal/centrifuge-go"
)

const (
	apiKey    = "sdk-test-api-key" // the test servers' (tests/lib.rs)
	otherUser = "u2"
	absent    = "u3" // never connects
)

// rawClient is a centrifuge-go client of user whose publications (its
// personal channel's and its subscriptions') arrive as decoded JSON.
type rawClient struct {
	sdk      *centrifuge.Client
	personal chan map[string]any
}

func decodeJSON(t *testing.T, data []byte) map[string]any {
	var value map[string]any
	if err := json.Unmarshal(data, &value); err != nil {
		t.Errorf("a publication is not a JSON object: %s", data)
	}
	return value
}

func newRawClient(t *testing.T, f *fixture, who string) *rawClient {
	t.Helper()
	var token string
	f.cmd(map[string]any{"cmd": "token", "user": who, "exp_in": 3600}, &token)
	c := &rawClient{
		sdk:      centrifuge.NewJsonClient(f.url, centrifuge.Config{Token: token}),
		personal: make(chan map[string]any, 16),
	}
	t.Cleanup(c.sdk.Close)
	subscribed := make(chan string, 1)
	c.sdk.OnSubscribed(func(e centrifuge.ServerSubscribedEvent) { subscribed <- e.Channel })
	c.sdk.OnPublication(func(e centrifuge.ServerPublicationEvent) {
		if e.Channel == "personal:#"+who {
			c.personal <- decodeJSON(t, e.Data)
		}
	})
	if err := c.sdk.Connect(); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if channel := next(t, subscribed, "the personal channel's server-side subscription"); channel != "personal:#"+who {
		t.Fatalf("server-side subscription to %q", channel)
	}
	return c
}

// subscribe subscribes to channel; its publications as decoded JSON.
func (c *rawClient) subscribe(t *testing.T, channel string) chan map[string]any {
	t.Helper()
	sub, err := c.sdk.NewSubscription(channel)
	if err != nil {
		t.Fatalf("NewSubscription(%s): %v", channel, err)
	}
	publications := make(chan map[string]any, 16)
	subscribed := make(chan struct{}, 1)
	sub.OnPublication(func(e centrifuge.PublicationEvent) { publications <- decodeJSON(t, e.Data) })
	sub.OnSubscribed(func(centrifuge.SubscribedEvent) { subscribed <- struct{}{} })
	sub.OnError(func(e centrifuge.SubscriptionErrorEvent) { t.Errorf("subscription %s: %v", channel, e.Error) })
	if err := sub.Subscribe(); err != nil {
		t.Fatalf("Subscribe(%s): %v", channel, err)
	}
	next(t, subscribed, "subscribed to "+channel)
	return publications
}

func withoutTime(payload map[string]any) map[string]any {
	out := make(map[string]any, len(payload))
	for key, value := range payload {
		if key != "timestamp" {
			out[key] = value
		}
	}
	return out
}

func newPublisher(t *testing.T, f *fixture) *api.Publisher {
	t.Helper()
	publisher, _ := newCountingPublisher(t, f)
	return publisher
}

// countingTransport counts the HTTP requests a publisher makes (a bad
// argument must make none, wherever the call would have published).
type countingTransport struct{ made atomic.Int32 }

func (c *countingTransport) RoundTrip(request *http.Request) (*http.Response, error) {
	c.made.Add(1)
	return http.DefaultTransport.RoundTrip(request)
}

func newCountingPublisher(t *testing.T, f *fixture) (*api.Publisher, *countingTransport) {
	t.Helper()
	counter := &countingTransport{}
	publisher, err := api.NewPublisher(api.PublisherOptions{
		APIURL: f.apiURL, APIKey: apiKey, HTTPClient: &http.Client{Transport: counter},
	})
	if err != nil {
		t.Fatalf("NewPublisher: %v", err)
	}
	return publisher, counter
}

// sameAs fails unless fromGo is fromRust, timestamps aside (both stamped).
func sameAs(t *testing.T, what string, fromGo, fromRust map[string]any) {
	t.Helper()
	if _, ok := fromGo["timestamp"]; !ok && fromRust["timestamp"] != nil {
		t.Errorf("%s: Go's payload has no timestamp: %v", what, fromGo)
	}
	if !reflect.DeepEqual(withoutTime(fromGo), withoutTime(fromRust)) {
		t.Errorf("%s:\n Go   %v\n Rust %v", what, fromGo, fromRust)
	}
}

func TestPublisherMatchesRust(t *testing.T) {
	f := startFixture(t)
	me := newRawClient(t, f, user)
	publisher := newPublisher(t, f)
	size := uint64(2048)
	operations := []struct {
		rust map[string]any
		run  func(ctx context.Context) (bool, error)
	}{
		{map[string]any{"action": "send_message", "user": user, "message": "Hello from Go!"},
			func(ctx context.Context) (bool, error) {
				return publisher.SendMessage(ctx, user, "Hello from Go!", nil)
			}},
		// A typed nil is no data, as nil is: {}.
		{map[string]any{"action": "send_message", "user": user, "message": "nil map"},
			func(ctx context.Context) (bool, error) {
				return publisher.SendMessage(ctx, user, "nil map", map[string]any(nil))
			}},
		{map[string]any{"action": "send_message", "user": user, "message": "with data", "data": map[string]any{"n": 1}},
			func(ctx context.Context) (bool, error) {
				return publisher.SendMessage(ctx, user, "with data", map[string]any{"n": 1})
			}},
		{map[string]any{"action": "send_notification", "user": user, "message": "Saved", "kind": "success", "title": "Report"},
			func(ctx context.Context) (bool, error) {
				return publisher.SendNotification(ctx, user, "Saved", api.NotificationOptions{Type: api.NotificationKindSuccess, Title: "Report"})
			}},
		{map[string]any{"action": "send_notification", "user": user, "message": "defaults"},
			func(ctx context.Context) (bool, error) {
				return publisher.SendNotification(ctx, user, "defaults", api.NotificationOptions{})
			}},
		{map[string]any{"action": "send_file", "user": user, "file_url": "https://files.example/r/report.pdf?sig=1"},
			func(ctx context.Context) (bool, error) {
				return publisher.SendFile(ctx, user, "https://files.example/r/report.pdf?sig=1", api.FileOptions{})
			}},
		{map[string]any{"action": "send_file", "user": user, "file_url": "https://x.example/a.csv", "file_name": "a.csv", "message": "Ready", "file_size": 2048},
			func(ctx context.Context) (bool, error) {
				return publisher.SendFile(ctx, user, "https://x.example/a.csv", api.FileOptions{FileName: "a.csv", Message: "Ready", FileSize: &size})
			}},
	}
	for _, op := range operations {
		command := map[string]any{"cmd": "messaging", "via": "http"}
		for key, value := range op.rust {
			command[key] = value
		}
		var rust struct {
			Delivered bool `json:"delivered"`
		}
		f.cmd(command, &rust)
		fromRust := next(t, me.personal, "Rust's "+op.rust["action"].(string))
		delivered, err := op.run(ctxTimeout(t))
		if err != nil || delivered != rust.Delivered {
			t.Fatalf("%v: Go gave %v, %v; Rust %v", op.rust, delivered, err, rust.Delivered)
		}
		sameAs(t, op.rust["action"].(string), next(t, me.personal, "Go's "+op.rust["action"].(string)), fromRust)
	}
	if delivered, err := publisher.SendMessage(ctxTimeout(t), absent, "later", nil); err != nil || delivered {
		t.Fatalf("SendMessage to a user who is not connected: %v, %v", delivered, err)
	}
	if connected, err := publisher.IsConnected(ctxTimeout(t), user); err != nil || !connected {
		t.Fatalf("IsConnected(%s): %v, %v", user, connected, err)
	}
}

func TestPublisherBroadcastCountsUsersOnce(t *testing.T) {
	f := startFixture(t)
	mine, theirs := newRawClient(t, f, user), newRawClient(t, f, otherUser)
	users := []string{user, otherUser, absent, user}
	var rust struct {
		Reached int `json:"reached"`
	}
	f.cmd(map[string]any{"cmd": "messaging", "via": "http", "action": "broadcast_message", "message": "All hands", "users": users}, &rust)
	reached, err := newPublisher(t, f).BroadcastMessage(ctxTimeout(t), "All hands", users, nil)
	if err != nil || reached != rust.Reached || reached != 2 {
		t.Fatalf("BroadcastMessage: %d, %v; Rust reached %d", reached, err, rust.Reached)
	}
	for _, c := range []*rawClient{mine, theirs} {
		fromRust := next(t, c.personal, "Rust's broadcast")
		sameAs(t, "broadcast", next(t, c.personal, "Go's broadcast"), fromRust)
	}
}

func TestPublisherTaskProgressMatchesRust(t *testing.T) {
	f := startFixture(t)
	channel := "news:task-contract"
	events := newRawClient(t, f, user).subscribe(t, channel)
	f.cmd(map[string]any{"cmd": "messaging", "via": "http", "action": "task", "task_id": "t1", "channel": channel,
		"steps": []any{
			map[string]any{"update": map[string]any{"status": "queued", "message": "waiting", "progress": 0}},
			map[string]any{"update": map[string]any{"message": "half", "progress": 50, "data": map[string]any{"rows": 5}}},
			map[string]any{"complete": map[string]any{"message": "done", "result": map[string]any{"rows": 10}}},
			map[string]any{"error": map[string]any{"error": "E42", "message": "failed"}},
		}}, nil)
	task := newPublisher(t, f).Task("t1", channel)
	ctx := ctxTimeout(t)
	if _, err := task.UpdateStatus(ctx, api.TaskUpdateStatusQueued, "waiting", 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Update(ctx, "half", 50, map[string]any{"rows": 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Complete(ctx, "done", map[string]any{"rows": 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Error(ctx, "E42", "failed"); err != nil {
		t.Fatal(err)
	}
	var fromRust []map[string]any
	for i := 0; i < 4; i++ {
		fromRust = append(fromRust, next(t, events, "Rust's task event"))
	}
	if fromRust[0]["status"] != "queued" {
		t.Fatalf("the first event: %v", fromRust[0])
	}
	for i, want := range []string{"task_update", "task_update", "task_complete", "task_error"} {
		fromGo := next(t, events, "Go's task event")
		if fromGo["type"] != want {
			t.Fatalf("event %d is %v, want %s", i, fromGo["type"], want)
		}
		sameAs(t, want, fromGo, fromRust[i])
	}
}

// Typed publishing: PublishNewsStory and PublishChatInbox write what the
// Rust typed publisher writes, into the channel it names.
func TestPublisherTypedFamiliesMatchRust(t *testing.T) {
	f := startFixture(t)
	me := newRawClient(t, f, user)
	publisher, counter := newCountingPublisher(t, f)
	storyID := "0B5E0C1E-3C4F-4A8E-9D7A-5F1F2B3C4D5E" // the server writes UUIDs in lower case
	stories := me.subscribe(t, "news:story:0b5e0c1e-3c4f-4a8e-9d7a-5f1f2b3c4d5e")
	f.cmd(map[string]any{"cmd": "typed", "via": "http", "family": "news_story", "story_id": "0b5e0c1e-3c4f-4a8e-9d7a-5f1f2b3c4d5e",
		"payload": map[string]any{"kind": "edited", "title": "New title", "revision": 2}}, nil)
	if _, err := publisher.PublishNewsStory(ctxTimeout(t), storyID, api.StoryEvent{Value: api.StoryEventEdited{Title: "New title", Revision: 2}}); err != nil {
		t.Fatalf("PublishNewsStory: %v", err)
	}
	fromRust := next(t, stories, "Rust's story event")
	sameAs(t, "news_story", next(t, stories, "Go's story event"), fromRust)

	inbox := me.subscribe(t, "chat:inbox:-1#"+user)
	f.cmd(map[string]any{"cmd": "typed", "via": "http", "family": "chat_inbox", "inbox": -1, "user": user,
		"payload": map[string]any{"author": "ann", "text": "hi"}}, nil)
	if _, err := publisher.PublishChatInbox(ctxTimeout(t), -1, user, api.ChatMessage{Author: "ann", Text: "hi"}); err != nil {
		t.Fatalf("PublishChatInbox: %v", err)
	}
	fromRust = next(t, inbox, "Rust's inbox message")
	sameAs(t, "chat_inbox", next(t, inbox, "Go's inbox message"), fromRust)

	// A user name that would name another channel, or a UUID that is not
	// one, is refused unsent.
	before := counter.made.Load()
	for _, bad := range []string{"", "u1,u2", "u1 u2", "a#b"} {
		_, err := publisher.PublishChatInbox(ctxTimeout(t), -1, bad, api.ChatMessage{Author: "ann", Text: "x"})
		if !errors.Is(err, api.ErrInvalidArgument) {
			t.Fatalf("PublishChatInbox to user %q: got %v, want ErrInvalidArgument", bad, err)
		}
	}
	for _, bad := range []string{"", "not-a-uuid", "0b5e0c1e3c4f4a8e9d7a5f1f2b3c4d5e", storyID + "0"} {
		_, err := publisher.PublishNewsStory(ctxTimeout(t), bad, api.StoryEvent{Value: api.StoryEventEdited{Title: "x"}})
		if !errors.Is(err, api.ErrInvalidArgument) {
			t.Fatalf("PublishNewsStory to story %q: got %v, want ErrInvalidArgument", bad, err)
		}
	}
	if made := counter.made.Load() - before; made != 0 {
		t.Fatalf("the refused calls made %d requests", made)
	}
	if _, err := publisher.PublishChatInbox(ctxTimeout(t), -1, user, api.ChatMessage{Author: "ann", Text: "marker"}); err != nil {
		t.Fatal(err)
	}
	if got := next(t, inbox, "the marker"); got["text"] != "marker" {
		t.Fatalf("after the refused ones, got %v", got)
	}
}

func closedPort(t *testing.T) string {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	_ = listener.Close()
	return address
}

func TestPublisherErrors(t *testing.T) {
	f := startFixture(t)
	me := newRawClient(t, f, user)
	ctx := ctxTimeout(t)

	wrong, _ := api.NewPublisher(api.PublisherOptions{APIURL: f.apiURL, APIKey: "wrong"})
	if _, err := wrong.SendMessage(ctx, user, "x", nil); !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("a wrong key: got %v, want ErrUnauthorized", err)
	}
	down, _ := api.NewPublisher(api.PublisherOptions{APIURL: "http://" + closedPort(t) + "/api", APIKey: apiKey})
	if _, err := down.IsConnected(ctx, user); !errors.Is(err, api.ErrUnreachable) {
		t.Fatalf("a server that is down: got %v, want ErrUnreachable", err)
	}
	publisher, counter := newCountingPublisher(t, f)
	// A refusal by the server: the API's own validation of a channel name.
	var refused *api.RefusedError
	if _, err := publisher.Publish(ctx, "", map[string]any{}); !errors.As(err, &refused) || refused.Code != 107 {
		t.Fatalf("publishing into an empty channel name: got %v, want *RefusedError", err)
	}

	task := publisher.Task("t9", "news:task-9")
	size := uint64(1)
	bad := map[string]func() error{
		"progress 101": func() error { _, err := task.Update(ctx, "x", 101, nil); return err },
		"progress -1":  func() error { _, err := task.Update(ctx, "x", -1, nil); return err },
		"status done": func() error {
			_, err := task.UpdateStatus(ctx, "done", "x", 5, nil)
			return err
		},
		"empty user": func() error { _, err := publisher.SendMessage(ctx, "", "x", nil); return err },
		"unknown type": func() error {
			_, err := publisher.SendNotification(ctx, user, "x", api.NotificationOptions{Type: "shout"})
			return err
		},
		"broadcast with an empty user": func() error {
			_, err := publisher.BroadcastMessage(ctx, "x", []string{user, ""}, nil)
			return err
		},
		"no file URL": func() error {
			_, err := publisher.SendFile(ctx, user, "", api.FileOptions{FileSize: &size})
			return err
		},
		"data that is not JSON":    func() error { _, err := publisher.SendMessage(ctx, user, "x", func() {}); return err },
		"empty user's connections": func() error { _, err := publisher.IsConnected(ctx, ""); return err },
	}
	before := counter.made.Load()
	for what, run := range bad {
		if err := run(); !errors.Is(err, api.ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", what, err)
		}
	}
	if made := counter.made.Load() - before; made != 0 {
		t.Fatalf("the refused calls made %d requests", made)
	}
	// Nothing above was sent: the next publication is this marker.
	if _, err := publisher.SendMessage(ctx, user, "marker", nil); err != nil {
		t.Fatal(err)
	}
	if got := next(t, me.personal, "the marker"); got["message"] != "marker" {
		t.Fatalf("after the refused calls, got %v", got)
	}

	// Configuration from the environment.
	t.Setenv("WIRECALL_API_URL", f.apiURL)
	t.Setenv("WIRECALL_API_KEY", apiKey)
	fromEnv, err := api.NewPublisher(api.PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if delivered, err := fromEnv.SendMessage(ctx, user, "from env", nil); err != nil || !delivered {
		t.Fatalf("from the environment: %v, %v", delivered, err)
	}
	next(t, me.personal, "the message from the environment's publisher")
	t.Setenv("WIRECALL_API_URL", "")
	if _, err := api.NewPublisher(api.PublisherOptions{}); err == nil {
		t.Fatal("NewPublisher without a URL succeeded")
	}
}
