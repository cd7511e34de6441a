package wirecall

// The connection to a wirecall server, over the official centrifuge-go SDK.
//
// CentrifugoRPCClient connects with a token and calls methods by name; an
// error reply comes back as an *RPCError carrying its code and message. The
// SDK reconnects by itself; calls made while it does wait for it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/centrifugal/centrifuge-go"
)

// RPCError is an error reply of the server. Code is the protocol's (100
// internal, 103 permission denied, 104 method not found, 107 bad request,
// ...) or the application's (400 to 1999); Temporary says whether the same
// call may succeed if retried. Get it with errors.As(err, &rpcErr), rpcErr
// being an *RPCError.
type RPCError struct {
	Code      uint32
	Message   string
	Temporary bool
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("%s (code %d)", e.Message, e.Code)
}

// ConnectError says the server refused the connection: Code is its
// disconnect code (3500 for an invalid token), Reason its explanation.
type ConnectError struct {
	Code   uint32
	Reason string
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot connect: %s (code %d)", e.Reason, e.Code)
}

// disconnectCalled is centrifuge-go's disconnect code for Disconnect and
// Close.
const disconnectCalled = 0

// CentrifugoRPCClient is one connection to a wirecall server.
type CentrifugoRPCClient struct {
	// UserID is the user the token was minted for.
	UserID string
	// PersonalChannel is the user's personal channel, personal:#<UserID>
	// unless the server names it otherwise.
	PersonalChannel string

	sdk        *centrifuge.Client
	mu         sync.Mutex
	waiting    chan error                // the pending Connect's, until it is answered
	lastErr    error                     // the SDK's last error, for a Connect that times out
	serverSide map[string][]func([]byte) // publication handlers by server-side channel
}

// NewCentrifugoRPCClient makes a client of the server at url (the WebSocket
// endpoint, ws://host:8000/connection/websocket) that authenticates with
// token, a connection JWT whose sub is userID. Nothing is sent before
// Connect.
func NewCentrifugoRPCClient(url, token, userID string) *CentrifugoRPCClient {
	return newCentrifugoRPCClient(centrifuge.NewJsonClient(url, centrifuge.Config{Token: token}), userID)
}

// NewProtobufCentrifugoRPCClient is NewCentrifugoRPCClient speaking the
// Protobuf encoding (the centrifuge-protobuf subprotocol, as the mobile SDKs
// do); payloads are JSON either way.
func NewProtobufCentrifugoRPCClient(url, token, userID string) *CentrifugoRPCClient {
	return newCentrifugoRPCClient(centrifuge.NewProtobufClient(url, centrifuge.Config{Token: token}), userID)
}

func newCentrifugoRPCClient(sdk *centrifuge.Client, userID string) *CentrifugoRPCClient {
	c := &CentrifugoRPCClient{
		UserID:          userID,
		PersonalChannel: "personal:#" + userID,
		sdk:             sdk,
		serverSide:      map[string][]func([]byte){},
	}
	c.sdk.OnPublication(func(e centrifuge.ServerPublicationEvent) {
		c.mu.Lock()
		handlers := c.serverSide[e.Channel]
		c.mu.Unlock()
		for _, handle := range handlers {
			handle(e.Data)
		}
	})
	c.sdk.OnConnected(func(centrifuge.ConnectedEvent) {
		c.answer(nil)
	})
	// A refusal (an invalid token, 3500) ends in disconnected. The event
	// of Disconnect comes later, maybe after the next Connect began, so
	// Disconnect answers a pending Connect itself.
	c.sdk.OnDisconnected(func(e centrifuge.DisconnectedEvent) {
		if e.Code != disconnectCalled {
			c.answer(&ConnectError{Code: e.Code, Reason: e.Reason})
		}
	})
	c.sdk.OnError(func(e centrifuge.ErrorEvent) {
		c.mu.Lock()
		c.lastErr = e.Error
		c.mu.Unlock()
	})
	return c
}

// SDK is the centrifuge-go client underneath, for what this package does
// not wrap. Leave its OnConnected, OnDisconnected, OnError and
// OnPublication handlers alone: Connect and the subscriptions rely on them.
func (c *CentrifugoRPCClient) SDK() *centrifuge.Client {
	return c.sdk
}

// errDisconnectCalled answers a Connect that Disconnect or Close cut short.
var errDisconnectCalled = errors.New("cannot connect: disconnected while connecting")

// answer ends the pending Connect, if there is one.
func (c *CentrifugoRPCClient) answer(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.waiting != nil {
		c.waiting <- err
		c.waiting = nil
	}
}

// Connect connects and waits until the server accepted the connection. A
// refusal is a *ConnectError with the server's disconnect code. When ctx
// ends first (say the server cannot be reached) the SDK stops retrying and
// Connect returns ctx's error together with the SDK's last one.
func (c *CentrifugoRPCClient) Connect(ctx context.Context) error {
	done := make(chan error, 1)
	c.mu.Lock()
	c.waiting = done
	c.lastErr = nil
	c.mu.Unlock()
	if err := c.sdk.Connect(); errors.Is(err, centrifuge.ErrClientClosed) {
		c.answer(err)
	} else if err != nil {
		// The first dial failed; the SDK keeps trying until ctx ends.
		c.mu.Lock()
		c.lastErr = err
		c.mu.Unlock()
	} else if c.sdk.State() == centrifuge.StateConnected {
		c.answer(nil) // connected before: no event follows
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		c.mu.Lock()
		c.waiting = nil
		last := c.lastErr
		c.mu.Unlock()
		_ = c.sdk.Disconnect()
		if last != nil {
			return fmt.Errorf("cannot connect: %w (last error: %v)", ctx.Err(), last)
		}
		return fmt.Errorf("cannot connect: %w", ctx.Err())
	}
}

// Disconnect closes the connection; no reconnect follows until Connect.
func (c *CentrifugoRPCClient) Disconnect() {
	c.answer(errDisconnectCalled)
	_ = c.sdk.Disconnect()
}

// Close disconnects and releases the client; it cannot connect again.
func (c *CentrifugoRPCClient) Close() {
	c.answer(errDisconnectCalled)
	c.sdk.Close()
}

// Call calls method with params (encoded as JSON) and decodes the result
// into result, a pointer (nil to ignore the result). An error reply is an
// *RPCError.
func (c *CentrifugoRPCClient) Call(ctx context.Context, method string, params, result any) error {
	data, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("%s: encoding params: %w", method, err)
	}
	reply, err := c.sdk.RPC(ctx, method, data)
	if err != nil {
		return replyError(method, err)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(reply.Data, result); err != nil {
		return fmt.Errorf("%s: decoding result: %w", method, err)
	}
	return nil
}

// Subscription is a subscription to one channel whose publications are
// decoded as T.
type Subscription[T any] struct {
	sdk *centrifuge.Subscription
}

// Unsubscribe leaves the channel.
func (s *Subscription[T]) Unsubscribe() error {
	return s.sdk.Unsubscribe()
}

// Publish publishes value into the channel, where its namespace lets
// clients publish. A refusal is an *RPCError: 103 when publishing is not
// allowed, 107 when the server's check of a declared family's payload fails
// (the message names the field).
func (s *Subscription[T]) Publish(ctx context.Context, value T) error {
	data, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("publish %s: encoding: %w", s.sdk.Channel, err)
	}
	if _, err := s.sdk.Publish(ctx, data); err != nil {
		return replyError("publish "+s.sdk.Channel, err)
	}
	return nil
}

// replyError is an error reply of the server as an *RPCError, anything
// else (a timeout, a closed client) wrapped with what failed.
func replyError(what string, err error) error {
	var sdkErr *centrifuge.Error
	if errors.As(err, &sdkErr) {
		return &RPCError{Code: sdkErr.Code, Message: sdkErr.Message, Temporary: sdkErr.Temporary}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// subscribe subscribes to channel, with recovery so that a reconnect loses
// nothing, waits until the server confirmed it (a refusal is an
// *RPCError), and calls handle with each publication decoded as a T (err
// set, value zero, for one that does not decode).
func subscribe[T any](ctx context.Context, rpc *CentrifugoRPCClient, channel string, handle func(value T, err error)) (*Subscription[T], error) {
	sub, err := rpc.sdk.NewSubscription(channel, centrifuge.SubscriptionConfig{Recoverable: true, Positioned: true})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", channel, err)
	}
	sub.OnPublication(func(e centrifuge.PublicationEvent) {
		handle(decode[T](e.Data))
	})
	answered := make(chan error, 1)
	sub.OnSubscribed(func(centrifuge.SubscribedEvent) {
		select {
		case answered <- nil:
		default:
		}
	})
	sub.OnUnsubscribed(func(e centrifuge.UnsubscribedEvent) {
		select {
		case answered <- &RPCError{Code: e.Code, Message: e.Reason}:
		default:
		}
	})
	if err := sub.Subscribe(); err != nil {
		_ = rpc.sdk.RemoveSubscription(sub)
		return nil, fmt.Errorf("subscribe %s: %w", channel, err)
	}
	select {
	case err := <-answered:
		if err != nil {
			_ = rpc.sdk.RemoveSubscription(sub)
			return nil, err
		}
		return &Subscription[T]{sdk: sub}, nil
	case <-ctx.Done():
		_ = sub.Unsubscribe()
		_ = rpc.sdk.RemoveSubscription(sub)
		return nil, fmt.Errorf("subscribe %s: %w", channel, ctx.Err())
	}
}

// onServerSide calls handle with each publication of channel, a channel
// the server subscribed this connection to, decoded as a T.
func onServerSide[T any](rpc *CentrifugoRPCClient, channel string, handle func(value T, err error)) {
	rpc.mu.Lock()
	defer rpc.mu.Unlock()
	rpc.serverSide[channel] = append(rpc.serverSide[channel], func(data []byte) {
		handle(decode[T](data))
	})
}

func decode[T any](data []byte) (T, error) {
	var value T
	if err := json.Unmarshal(data, &value); err != nil {
		var zero T
		return zero, fmt.Errorf("decoding a publication: %w", err)
	}
	return value, nil
}

// call calls method and decodes its result as a T; the zero T on error.
func call[T any](ctx context.Context, rpc *CentrifugoRPCClient, method string, params any) (T, error) {
	var result T
	if err := rpc.Call(ctx, method, params, &result); err != nil {
		var zero T
		return zero, err
	}
	return result, nil
}

// The JSON of tagged unions: an object whose tag field names the variant,
// beside the variant's own fields.

// marshalTagged writes variant's JSON object with the tag field first.
func marshalTagged(tag, value string, variant any) ([]byte, error) {
	body, err := json.Marshal(variant)
	if err != nil {
		return nil, err
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("variant %q is not a JSON object: %s", value, body)
	}
	head, err := json.Marshal(map[string]string{tag: value})
	if err != nil {
		return nil, err
	}
	if len(body) == 2 {
		return head, nil
	}
	head[len(head)-1] = ','
	return append(head, body[1:]...), nil
}

// unmarshalTag reads the tag field of a union's JSON object.
func unmarshalTag(data []byte, tag, union string) (string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return "", fmt.Errorf("%s: %w", union, err)
	}
	raw, ok := fields[tag]
	if !ok {
		return "", fmt.Errorf("%s: no %q field", union, tag)
	}
	var value string
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", fmt.Errorf("%s: field %q: %w", union, tag, err)
	}
	return value, nil
}

// unmarshalVariant decodes a union's JSON object as its variant T.
func unmarshalVariant[T any](data []byte) (T, error) {
	var variant T
	err := json.Unmarshal(data, &variant)
	return variant, err
}

// The JSON of externally tagged enums: a variant without data is its name
// as a string, any other an object whose one key is its name.

// marshalExternal writes {"<tag>": payload}.
func marshalExternal(tag string, payload any) ([]byte, error) {
	return json.Marshal(map[string]any{tag: payload})
}

// marshalUnit writes a variant without data: its name as a JSON string.
func marshalUnit(tag string) ([]byte, error) {
	return json.Marshal(tag)
}

// unmarshalExternal reads a variant's name: the string itself (payload
// nil), or the one key of an object (payload its value).
func unmarshalExternal(data []byte, union string) (string, json.RawMessage, error) {
	var name string
	if err := json.Unmarshal(data, &name); err == nil {
		return name, nil, nil
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal(data, &object); err != nil {
		return "", nil, fmt.Errorf("%s: %w", union, err)
	}
	if len(object) != 1 {
		return "", nil, fmt.Errorf("%s: want a string or an object with one key, got %d keys", union, len(object))
	}
	for key, value := range object {
		return key, value, nil
	}
	return "", nil, nil
}

// unmarshalPayload decodes the data of a variant that has some.
func unmarshalPayload(payload json.RawMessage, into any, union, tag string) error {
	if payload == nil {
		return fmt.Errorf("%s: variant %q needs a value", union, tag)
	}
	if err := json.Unmarshal(payload, into); err != nil {
		return fmt.Errorf("%s: variant %q: %w", union, tag, err)
	}
	return nil
}

// unknownTag is the error for a tag value no variant has.
func unknownTag(union, tag, value string) error {
	return fmt.Errorf("%s: unknown %s %q", union, tag, value)
}

// errNoVariant is the error for marshalling a union without a variant.
func errNoVariant(union string) error {
	return errors.New(union + ": Value is nil (no variant)")
}

// unmarshalTuple splits a JSON array of exactly n items.
func unmarshalTuple(data []byte, n int) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, err
	}
	if len(items) != n {
		return nil, fmt.Errorf("want a JSON array of %d items, got %d", n, len(items))
	}
	return items, nil
}
