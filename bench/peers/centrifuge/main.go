// Command centrifuge-peer is the Centrifuge Go library serving what
// bench-server serves, for bench/run.sh to measure beside wirecall: an
// in-process RPC handler `bench.add {a, b} -> {sum}`, subscriptions to
// any channel (`bench:fan`), and the same stdin commands:
//
//   - `publish <n> <bytes>`: n publications of about `bytes` bytes to
//     bench:fan, each carrying the time it was made ("t", Unix µs);
//     answers `OK <elapsed µs>`;
//   - `pace <n> <per second> <bytes>`: the same, at a fixed rate;
//   - `quit`, or the end of stdin: exits.
//
// It prints `TOKEN <jwt>` (an HS256 token of user "bench", checked on
// connect as wirecall checks it) and `READY <port>` (127.0.0.1, a free
// port), like bench-server, so loadgen starts it the same way.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/centrifugal/centrifuge"

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

	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		words := strings.Fields(lines.Text())
		switch {
		case len(words) == 0:
		case words[0] == "quit":
			return nil
		case words[0] == "pace" && len(words) == 4:
			n, errN := strconv.Atoi(words[1])
			rate, errR := strconv.Atoi(words[2])
			size, errB := strconv.Atoi(words[3])
			if errN != nil || errR != nil || errB != nil || rate <= 0 {
				fmt.Println("ERR usage: pace <n> <per second> <bytes>")
				continue
			}
			elapsed, err := pace(node, n, rate, size)
			if err != nil {
				fmt.Println("ERR", err)
				continue
			}
			fmt.Println("OK", elapsed.Microseconds())
		case words[0] == "publish" && len(words) == 3:
			n, errN := strconv.Atoi(words[1])
			size, errB := strconv.Atoi(words[2])
			if errN != nil || errB != nil {
				fmt.Println("ERR usage: publish <n> <bytes>")
				continue
			}
			elapsed, err := publish(node, n, size)
			if err != nil {
				fmt.Println("ERR", err)
				continue
			}
			fmt.Println("OK", elapsed.Microseconds())
		default:
			fmt.Println("ERR unknown command:", lines.Text())
		}
	}
	return nil
}

// publish sends n publications of about size bytes to bench:fan, as
// bench-server does: {"t":µs,"seq":N,"pad":"…"}.
func publish(node *centrifuge.Node, n, size int) (time.Duration, error) {
	return publishPaced(node, n, 0, size)
}

// pace is publish at rate publications a second (a fixed schedule, as
// bench-server's: a late publication goes at once).
func pace(node *centrifuge.Node, n, rate, size int) (time.Duration, error) {
	return publishPaced(node, n, time.Second/time.Duration(rate), size)
}

func publishPaced(node *centrifuge.Node, n int, every time.Duration, size int) (time.Duration, error) {
	pad := strings.Repeat("x", max(size-48, 0))
	started := time.Now()
	for seq := range n {
		if every > 0 {
			if wait := time.Until(started.Add(time.Duration(seq) * every)); wait > 0 {
				time.Sleep(wait)
			}
		}
		data := fmt.Sprintf(`{"t":%d,"seq":%d,"pad":"%s"}`, time.Now().UnixMicro(), seq, pad)
		if _, err := node.Publish("bench:fan", []byte(data)); err != nil {
			return 0, err
		}
	}
	return time.Since(started), nil
}
