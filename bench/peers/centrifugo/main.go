// Command centrifugo-peer runs Centrifugo as its users deploy it for RPC:
// the Centrifugo binary given as the first argument (built by bench/run.sh
// with `go install github.com/centrifugal/centrifugo/v6@v6.9.1`), its RPC
// proxied over HTTP to a backend that answers `bench.add {a, b} -> {sum}`
// (this process), HS256 connection tokens, namespace `bench` open to
// subscribers. It speaks bench-server's stdout lines, so loadgen starts
// it the same way: `TOKEN <jwt>`, `SERVER_PIDS <this> <centrifugo>` (the
// deployment's processes, whose CPU time loadgen adds up) and
// `READY <port>`. It answers bench-server's stdin commands (package
// publishing), publishing through Centrifugo's HTTP API, and stops
// Centrifugo and exits at `quit` or the end of stdin.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"wirecall.dev/bench/peers/internal/publishing"
	"wirecall.dev/bench/peers/internal/token"
)

// apiKey is Centrifugo's HTTP API key (loopback only).
const apiKey = "wirecall-bench-api-key"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "centrifugo-peer:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: centrifugo-peer <path to the centrifugo binary>")
	}
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(backend, http.HandlerFunc(rpc)) }()
	port, err := freePort()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "centrifugo-peer")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	config := map[string]any{
		"client": map[string]any{
			"token":           map[string]any{"hmac_secret_key": token.Secret},
			"allowed_origins": []string{"*"},
		},
		"http_server": map[string]any{"address": "127.0.0.1", "port": port},
		"channel": map[string]any{
			"namespaces": []any{map[string]any{"name": "bench", "allow_subscribe_for_client": true}},
		},
		"rpc": map[string]any{
			"proxy":             map[string]any{"endpoint": "http://" + backend.Addr().String() + "/rpc"},
			"without_namespace": map[string]any{"proxy_enabled": true},
		},
		"http_api": map[string]any{"key": apiKey},
		"log":      map[string]any{"level": "error"},
	}
	path := filepath.Join(dir, "config.json")
	encoded, err := json.Marshal(config)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, encoded, 0o600); err != nil {
		return err
	}
	centrifugo := exec.Command(os.Args[1], "--config", path)
	centrifugo.Stdout = os.Stderr
	centrifugo.Stderr = os.Stderr
	if err := centrifugo.Start(); err != nil {
		return err
	}
	defer func() {
		_ = centrifugo.Process.Kill()
		_ = centrifugo.Wait()
	}()
	if err := awaitPort(port, 30*time.Second); err != nil {
		return err
	}
	jwt, err := token.Mint("bench", time.Now().Add(24*time.Hour))
	if err != nil {
		return err
	}
	fmt.Println("TOKEN", jwt)
	fmt.Println("SERVER_PIDS", os.Getpid(), centrifugo.Process.Pid)
	fmt.Println("READY", port)
	api := "http://127.0.0.1:" + strconv.Itoa(port) + "/api/publish"
	publishing.Serve(os.Stdin, os.Stdout, func(data []byte) error {
		return publishOverAPI(api, data)
	})
	return nil
}

// publishOverAPI publishes to bench:fan through Centrifugo's HTTP API,
// as a backend of its users does.
func publishOverAPI(api string, data []byte) error {
	body, err := json.Marshal(map[string]any{"channel": "bench:fan", "data": json.RawMessage(data)})
	if err != nil {
		return err
	}
	request, err := http.NewRequest(http.MethodPost, api, bytes.NewReader(body))
	if err != nil {
		return err
	}
	request.Header.Set("X-API-Key", apiKey)
	request.Header.Set("Content-Type", "application/json")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	var reply struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(response.Body).Decode(&reply); err != nil {
		return fmt.Errorf("publish: HTTP %d: %w", response.StatusCode, err)
	}
	if reply.Error != nil {
		return fmt.Errorf("publish: %d %s", reply.Error.Code, reply.Error.Message)
	}
	return nil
}

// rpc is the proxy backend: Centrifugo posts {"method", "data"} (or
// "b64data" from Protobuf clients) and takes {"result": {"data"}} back.
func rpc(w http.ResponseWriter, r *http.Request) {
	var request struct {
		Method  string          `json:"method"`
		Data    json.RawMessage `json:"data"`
		B64Data string          `json:"b64data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&request); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	data := []byte(request.Data)
	if request.B64Data != "" {
		decoded, err := base64.StdEncoding.DecodeString(request.B64Data)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		data = decoded
	}
	var params struct {
		A int64 `json:"a"`
		B int64 `json:"b"`
	}
	if request.Method != "bench.add" || json.Unmarshal(data, &params) != nil {
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": 107, "message": "bad request"}})
		return
	}
	sum, _ := json.Marshal(map[string]int64{"sum": params.A + params.B})
	result := map[string]any{"data": json.RawMessage(sum)}
	if request.B64Data != "" {
		result = map[string]any{"b64data": base64.StdEncoding.EncodeToString(sum)}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"result": result})
}

func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

func awaitPort(port int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			return conn.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("centrifugo did not listen on %d within %s", port, limit)
}
