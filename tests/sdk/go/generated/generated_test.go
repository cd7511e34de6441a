// End-to-end tests of the generated Go client (example.com/fixtureclient,
// written to target/clients/fixture/go by `target/debug/fixture-clients
// target/clients/fixture`) against the sdk-fixture server: typed calls, the
// typed error, a refused connection, the type fixture's round trip, and
// typed task and personal-channel subscriptions.
package generated_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "example.com/fixtureclient"
	"github.com/centrifugal/centrifuge-go"
)

const (
	timeout = 10 * time.Second // hang guard for every wait
	user    = "u1"
)

func fixturePath() string {
	if p := os.Getenv("WIRECALL_FIXTURE"); p != "" {
		return p
	}
	// go test runs in the package directory: tests/sdk/go/generated.
	p, _ := filepath.Abs(filepath.Join("..", "..", "..", "..", "target", "debug", "sdk-fixture"))
	return p
}

// fixture is one sdk-fixture process: `READY <port>` on stdout, then one
// JSON command per stdin line, answered by `OK <json>` or `ERR <message>`.
type fixture struct {
	t     *testing.T
	stdin io.WriteCloser
	lines chan string
	url   string
	// apiURL is the server's HTTP API, http://127.0.0.1:<port>/api.
	apiURL string
	// protobuf: the generated client speaks the Protobuf encoding
	// (NewProtobufAPIClient).
	protobuf bool
}

// newClient is the generated client in the fixture's encoding.
func (f *fixture) newClient(token string) *api.APIClient {
	if f.protobuf {
		return api.NewProtobufAPIClient(f.url, token, user)
	}
	return api.NewAPIClient(f.url, token, user)
}

// inEachEncoding runs scenario as two subtests, "json" and "protobuf", each
// with a fresh fixture.
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

func startFixture(t *testing.T) *fixture {
	t.Helper()
	cmd := exec.Command(fixturePath())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start fixture %s: %v", fixturePath(), err)
	}
	f := &fixture{t: t, stdin: stdin, lines: make(chan string, 16)}
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			f.lines <- scanner.Text()
		}
		close(f.lines)
	}()
	t.Cleanup(func() {
		_, _ = stdin.Write([]byte(`{"cmd":"quit"}` + "\n"))
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	var port int
	if _, err := fmt.Sscanf(f.nextLine("the READY line"), "READY %d", &port); err != nil {
		t.Fatalf("unexpected first fixture line: %v", err)
	}
	f.url = fmt.Sprintf("ws://127.0.0.1:%d/connection/websocket", port)
	f.apiURL = fmt.Sprintf("http://127.0.0.1:%d/api", port)
	return f
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

// cmd sends one fixture command and decodes the JSON after `OK ` into
// result (nil to ignore it); an `ERR` answer fails the test.
func (f *fixture) cmd(command map[string]any, result any) {
	f.t.Helper()
	line, _ := json.Marshal(command)
	if _, err := f.stdin.Write(append(line, '\n')); err != nil {
		f.t.Fatal(err)
	}
	answer := f.nextLine(fmt.Sprintf("the answer to %s", line))
	if !strings.HasPrefix(answer, "OK ") {
		f.t.Fatalf("fixture command %s answered %q", line, answer)
	}
	if result != nil {
		if err := json.Unmarshal([]byte(answer[3:]), result); err != nil {
			f.t.Fatalf("fixture answer %q: %v", answer, err)
		}
	}
}

// token mints a connection token for user; badSignature spoils it.
func (f *fixture) token(badSignature bool) string {
	f.t.Helper()
	var token string
	f.cmd(map[string]any{"cmd": "token", "user": user, "exp_in": 3600, "bad_signature": badSignature}, &token)
	return token
}

// next receives from ch, failing the test after the hang guard.
func next[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case value := <-ch:
		return value
	case <-time.After(timeout):
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
	panic("unreachable")
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// connected returns a generated client connected with a valid token.
func connected(t *testing.T, f *fixture) *api.APIClient {
	t.Helper()
	client := f.newClient(f.token(false))
	t.Cleanup(client.Close)
	if err := client.Connect(ctxTimeout(t)); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return client
}

// Typed calls: a struct result, and an error reply as *RPCError.
func TestCallsAndTypedError(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		client := connected(t, f)

		who, err := client.TestWhoami(ctxTimeout(t))
		if err != nil {
			t.Fatalf("TestWhoami: %v", err)
		}
		if who.User != user || who.Client == "" {
			t.Fatalf("TestWhoami: %+v", who)
		}

		err = client.TestFail(ctxTimeout(t))
		var rpcErr *api.RPCError
		if !errors.As(err, &rpcErr) {
			t.Fatalf("TestFail: got %v (%T), want *RPCError", err, err)
		}
		if rpcErr.Code != 1001 || rpcErr.Message != "custom app error" {
			t.Fatalf("TestFail: got %d %q", rpcErr.Code, rpcErr.Message)
		}

		// Primitive params and results, by value.
		slept, err := client.TestSleep(ctxTimeout(t), 1)
		if err != nil || slept != 1 {
			t.Fatalf("TestSleep: %d, %v", slept, err)
		}

		// Connect again after Disconnect, and once more while connected.
		client.Disconnect()
		for i := 0; i < 2; i++ {
			if err := client.Connect(ctxTimeout(t)); err != nil {
				t.Fatalf("Connect after Disconnect (%d): %v", i, err)
			}
		}
		if _, err := client.TestWhoami(ctxTimeout(t)); err != nil {
			t.Fatalf("TestWhoami after reconnecting: %v", err)
		}
	})
}

// The type fixture: what types.sample sends decodes into the generated
// types, encodes back, and types.check finds it equal to the original.
func TestTypesRoundTrip(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		client := connected(t, f)

		sample, err := client.TypesSample(ctxTimeout(t))
		if err != nil {
			t.Fatalf("TypesSample: %v", err)
		}
		// A few values, to show the decoding is typed, not just carried.
		if sample.Status != api.StatusInProgress || sample.Pair.V0 != 3 || sample.Pair.V1 != "three" {
			t.Fatalf("status %q, pair %+v", sample.Status, sample.Pair)
		}
		if len(sample.Events) != 3 {
			t.Fatalf("events %+v", sample.Events)
		}
		if moved, ok := sample.Events[0].Value.(api.EventMoved); !ok || moved.X != 1 || moved.Y != -2 {
			t.Fatalf("events[0] %#v", sample.Events[0].Value)
		}
		if renamed, ok := sample.Events[1].Value.(api.EventRenamed); !ok || renamed.Name != "four" {
			t.Fatalf("events[1] %#v", sample.Events[1].Value)
		}
		if _, ok := sample.Events[2].Value.(api.EventCleared); !ok {
			t.Fatalf("events[2] %#v", sample.Events[2].Value)
		}
		if circle, ok := sample.Shapes[0].Value.(api.ShapeCircle); !ok || circle.Value.Radius != 1.5 {
			t.Fatalf("shapes[0] %#v", sample.Shapes[0].Value)
		}
		if line, ok := sample.Shapes[3].Value.(api.ShapeLine); !ok || line.Value.V0 != -1 || line.Value.V1 != 2 {
			t.Fatalf("shapes[3] %#v", sample.Shapes[3].Value)
		}
		if _, ok := sample.Shapes[4].Value.(api.ShapeEmpty); !ok {
			t.Fatalf("shapes[4] %#v", sample.Shapes[4].Value)
		}
		if jump, ok := sample.Moves[0].Value.(api.MoveJump); !ok || jump.Args.Height != 3 {
			t.Fatalf("moves[0] %#v", sample.Moves[0].Value)
		}
		if sample.Nothing != nil || sample.Author != nil || sample.Maybe == nil || *sample.Maybe != "here" {
			t.Fatalf("optional fields: nothing %v, author %v, maybe %v", sample.Nothing, sample.Author, sample.Maybe)
		}
		if want := time.Date(2026, 11, 22, 10, 30, 0, 123_000_000, time.UTC); !sample.When.Equal(want) {
			t.Fatalf("when %s, want %s", sample.When, want)
		}

		same, err := client.TypesCheck(ctxTimeout(t), *sample)
		if err != nil {
			t.Fatalf("TypesCheck: %v", err)
		}
		if !same {
			t.Fatal("TypesCheck returned false")
		}

		// A changed value is told apart (the check really compares).
		sample.Events[0] = api.Event{Value: api.EventMoved{X: 1, Y: 2}}
		_, err = client.TypesCheck(ctxTimeout(t), *sample)
		var rpcErr *api.RPCError
		if !errors.As(err, &rpcErr) || rpcErr.Code != 107 {
			t.Fatalf("TypesCheck of a changed value: got %v, want error 107", err)
		}
	})
}

// A bad token: Connect fails with the server's disconnect code, 3500.
func TestBadTokenIsRefused(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		client := f.newClient(f.token(true))
		t.Cleanup(client.Close)
		err := client.Connect(ctxTimeout(t))
		if err == nil {
			t.Fatal("Connect with a bad token succeeded")
		}
		var connectErr *api.ConnectError
		if !errors.As(err, &connectErr) || connectErr.Code != 3500 {
			t.Fatalf("Connect: got %v (%T), want *ConnectError 3500", err, err)
		}
		if !strings.Contains(err.Error(), "3500") {
			t.Fatalf("error %q does not name code 3500", err)
		}
	})
}

// SubscribeTask: task_update and task_complete arrive as typed variants, in
// order.
func TestTypedTaskSubscription(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		client := connected(t, f)
		events := make(chan api.TaskEvent, 8)
		channel := "news:task-7"
		sub, err := client.SubscribeTask(ctxTimeout(t), channel, func(event api.TaskEvent, err error) {
			if err != nil {
				t.Errorf("a publication did not decode: %v", err)
				return
			}
			events <- event
		})
		if err != nil {
			t.Fatalf("SubscribeTask: %v", err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
		f.cmd(map[string]any{"cmd": "messaging", "via": "server", "action": "task", "task_id": "t7", "channel": channel,
			"steps": []any{
				map[string]any{"update": map[string]any{"message": "half", "progress": 50}},
				map[string]any{"complete": map[string]any{"message": "done", "result": map[string]any{"rows": 3}}},
			}}, nil)
		update, ok := next(t, events, "task_update").Value.(api.TaskEventTaskUpdate)
		if !ok || update.Progress != 50 || update.TaskId != "t7" || update.Message != "half" {
			t.Fatalf("first event: %#v", update)
		}
		done, ok := next(t, events, "task_complete").Value.(api.TaskEventTaskComplete)
		if !ok || done.Message != "done" || string(done.Result) != `{"rows":3}` {
			t.Fatalf("second event: %#v (result %s)", done, done.Result)
		}
	})
}

// A subscription the server refuses is an *RPCError with its code.
func TestRefusedSubscriptionIsTyped(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		client := connected(t, f)
		_, err := client.SubscribeTask(ctxTimeout(t), "chat:#someone-else", func(api.TaskEvent, error) {})
		var rpcErr *api.RPCError
		if !errors.As(err, &rpcErr) || rpcErr.Code != 103 {
			t.Fatalf("SubscribeTask to another user's channel: got %v, want *RPCError 103", err)
		}
	})
}

// OnPersonalMessage: a notification sent to the user arrives typed.
func TestTypedPersonalMessages(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		client := f.newClient(f.token(false))
		t.Cleanup(client.Close)
		messages := make(chan api.PersonalMessage, 4)
		client.OnPersonalMessage(func(message api.PersonalMessage, err error) {
			if err != nil {
				t.Errorf("a personal message did not decode: %v", err)
				return
			}
			messages <- message
		})
		if err := client.Connect(ctxTimeout(t)); err != nil {
			t.Fatalf("Connect: %v", err)
		}
		f.cmd(map[string]any{"cmd": "messaging", "via": "server", "action": "send_notification", "user": user,
			"message": "saved", "kind": "success", "title": "Report"}, nil)
		note, ok := next(t, messages, "user.notification").Value.(api.PersonalMessageUserNotification)
		if !ok || note.NotificationType != api.NotificationKindSuccess || note.Title != "Report" || note.Message != "saved" {
			t.Fatalf("personal message: %#v", note)
		}
	})
}

// Typed channel families: a typed publish from Rust (in process and through
// the HTTP API) reaches SubscribeNewsStory and SubscribeChatInbox as typed
// values; another user's inbox is refused with 103.
func TestTypedChannelFamilies(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		client := connected(t, f)
		storyID := "0b5e0c1e-3c4f-4a8e-9d7a-5f1f2b3c4d5e"
		stories := make(chan api.StoryEvent, 4)
		sub, err := client.SubscribeNewsStory(ctxTimeout(t), storyID, func(event api.StoryEvent, err error) {
			if err != nil {
				t.Errorf("a story event did not decode: %v", err)
				return
			}
			stories <- event
		})
		if err != nil {
			t.Fatalf("SubscribeNewsStory: %v", err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
		var channel string
		f.cmd(map[string]any{"cmd": "typed", "via": "server", "family": "news_story", "story_id": storyID,
			"payload": map[string]any{"kind": "edited", "title": "New title", "revision": 2}}, &channel)
		if channel != "news:story:"+storyID {
			t.Fatalf("the fixture published into %q", channel)
		}
		f.cmd(map[string]any{"cmd": "typed", "via": "http", "family": "news_story", "story_id": storyID,
			"payload": map[string]any{"kind": "retracted", "reason": "duplicate"}}, nil)
		edited, ok := next(t, stories, "edited").Value.(api.StoryEventEdited)
		if !ok || edited.Title != "New title" || edited.Revision != 2 {
			t.Fatalf("first event: %#v", edited)
		}
		retracted, ok := next(t, stories, "retracted").Value.(api.StoryEventRetracted)
		if !ok || retracted.Reason != "duplicate" {
			t.Fatalf("second event: %#v", retracted)
		}

		inbox := make(chan api.ChatMessage, 4)
		inboxSub, err := client.SubscribeChatInbox(ctxTimeout(t), -1, user, func(message api.ChatMessage, err error) {
			if err != nil {
				t.Errorf("an inbox message did not decode: %v", err)
				return
			}
			inbox <- message
		})
		if err != nil {
			t.Fatalf("SubscribeChatInbox: %v", err)
		}
		t.Cleanup(func() { _ = inboxSub.Unsubscribe() })
		f.cmd(map[string]any{"cmd": "typed", "via": "server", "family": "chat_inbox", "inbox": -1, "user": user,
			"payload": map[string]any{"author": "bot", "text": "archived"}}, nil)
		if got := next(t, inbox, "inbox message"); got != (api.ChatMessage{Author: "bot", Text: "archived"}) {
			t.Fatalf("inbox message: %#v", got)
		}
		_, err = client.SubscribeChatInbox(ctxTimeout(t), 1, "someone-else", func(api.ChatMessage, error) {})
		var rpcErr *api.RPCError
		if !errors.As(err, &rpcErr) || rpcErr.Code != 103 {
			t.Fatalf("another user's inbox: got %v, want *RPCError 103", err)
		}
	})
}

// A typed subscription publishes typed values; a publication of the wrong
// shape (through the SDK underneath) is refused with 107 naming the field.
func TestTypedChannelPublish(t *testing.T) {
	inEachEncoding(t, func(t *testing.T, f *fixture) {
		client := connected(t, f)
		messages := make(chan api.ChatMessage, 4)
		room, err := client.SubscribeChatRoom(ctxTimeout(t), 42, func(message api.ChatMessage, err error) {
			if err != nil {
				t.Errorf("a room message did not decode: %v", err)
				return
			}
			messages <- message
		})
		if err != nil {
			t.Fatalf("SubscribeChatRoom: %v", err)
		}
		t.Cleanup(func() { _ = room.Unsubscribe() })
		hello := api.ChatMessage{Author: user, Text: "hello"}
		if err := room.Publish(ctxTimeout(t), hello); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if got := next(t, messages, "own message"); got != hello {
			t.Fatalf("own message: %#v", got)
		}
		_, err = client.RPC.SDK().Publish(ctxTimeout(t), "chat:room:42", []byte(`{"author":"x"}`))
		var sdkErr *centrifuge.Error
		if !errors.As(err, &sdkErr) || sdkErr.Code != 107 || !strings.Contains(sdkErr.Message, "text") || !strings.Contains(sdkErr.Message, "chat_room") {
			t.Fatalf("a message without text: got %v, want error 107 naming `text` and the family", err)
		}
	})
}
