// Command centrifuge-peer is the Centrifuge Go library serving what
// bench-server serves, for bench/run.sh to measure beside wirecall: an
// in-process RPC handler `bench.add {a, b} -> {sum}`, subscriptions to
// any channel (`bench:fan`), and the same stdin commands:
// `publish`, `pace` and `quit` (package publishing), publishing in
// process.
//
// It prints `TOKEN <jwt>` (an HS256 token of user "bench", checked on
// connect as wirecall checks it) and `READY <port>` (127.0.0.1, a free
// port), like bench-server, so loadgen starts it the same way.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/centrifugal/centrifuge"

	"wirecall.dev/bench/peers/internal/publishing"
	"wirecall.dev/bench/peers/internal/token"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "centrifuge-peer:", err)
		os.Exit(1)
	}
}

func run() error {
	node, err := centrifuge.New(centrifuge.Config{LogLevel: centrifuge.LogLevelNone})
	if err != nil {
		return err
	}
	node.OnConnecting(func(_ context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		user, err := token.Verify(e.Token)
		if err != nil {
			return centrifuge.ConnectReply{}, centrifuge.DisconnectInvalidToken
		}
		return centrifuge.ConnectReply{Credentials: &centrifuge.Credentials{UserID: user}}, nil
	})
	node.OnConnect(func(client *centrifuge.Client) {
		client.OnRPC(func(e centrifuge.RPCEvent, cb centrifuge.RPCCallback) {
			if e.Method != "bench.add" {
				cb(centrifuge.RPCReply{}, centrifuge.ErrorMethodNotFound)
				return
			}
			var params struct {
				A int64 `json:"a"`
				B int64 `json:"b"`
			}
			if err := json.Unmarshal(e.Data, &params); err != nil {
				cb(centrifuge.RPCReply{}, centrifuge.ErrorBadRequest)
				return
			}
			data, _ := json.Marshal(struct {
				Sum int64 `json:"sum"`
			}{params.A + params.B})
			cb(centrifuge.RPCReply{Data: data}, nil)
		})
		client.OnSubscribe(func(_ centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			cb(centrifuge.SubscribeReply{}, nil)
		})
	})
	if err := node.Run(); err != nil {
		return err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/connection/websocket", centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{}))
	go func() { _ = http.Serve(listener, mux) }()
	jwt, err := token.Mint("bench", time.Now().Add(24*time.Hour))
	if err != nil {
		return err
	}
	fmt.Println("TOKEN", jwt)
	fmt.Println("READY", listener.Addr().(*net.TCPAddr).Port)

	publishing.Serve(os.Stdin, os.Stdout, func(data []byte) error {
		_, err := node.Publish("bench:fan", data)
		return err
	})
	return nil
}
