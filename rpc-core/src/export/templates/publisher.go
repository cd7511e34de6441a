package wirecall

// Publishing from a Go backend: messages, notifications and files to users,
// and task progress, over the server's HTTP API. The payloads are the
// generated types, the same the browser and the other clients read.
//
// It speaks the API with net/http: gocent v3, the Go API client, speaks the
// single-endpoint format (POST /api with a method field) that wirecall does
// not serve; wirecall serves one path per method (POST /api/publish).
//
// Arguments are checked before anything is sent (ErrInvalidArgument); a
// wrong key fails with ErrUnauthorized, an unreachable server with
// ErrUnreachable, a refusal by the server with a *RefusedError carrying its
// code. Test them with errors.Is and errors.As.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
)

var (
	// ErrInvalidArgument: an argument the server would refuse; nothing was
	// sent.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnauthorized: the server refused the API key (HTTP 401).
	ErrUnauthorized = errors.New("the server refused the API key (HTTP 401)")
	// ErrUnreachable: the server could not be reached, or did not answer in
	// time.
	ErrUnreachable = errors.New("cannot reach the server")
	// ErrUnexpectedResponse: the server answered something that is not the
	// API's (not JSON, or an HTTP error without an error reply).
	ErrUnexpectedResponse = errors.New("unexpected response from the server")
)

// RefusedError is the server's refusal of a request: Code is the
// protocol's (102 unknown channel, 107 bad request, ...) or the
// application's. Get it with errors.As.
type RefusedError struct {
	Code    uint32
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s (code %d)", e.Message, e.Code)
}

// PersonalNamespace is the namespace of the users' personal channels (the
// server's, when the exporter knew it).
const PersonalNamespace = "personal"

// NotificationTypes are the notification types the page knows how to show.
var NotificationTypes = []NotificationKind{
	NotificationKindSuccess,
	NotificationKindError,
	NotificationKindInfo,
	NotificationKindWarning,
}

// PublisherOptions says where the API is. Empty fields take their defaults.
type PublisherOptions struct {
	// APIURL is http://host:8000/api; default WIRECALL_API_URL (or
	// WSRPC_API_URL).
	APIURL string
	// APIKey defaults to WIRECALL_API_KEY (or WSRPC_API_KEY).
	APIKey string
	// PersonalNamespace is the personal channels' namespace (default: the
	// package's PersonalNamespace).
	PersonalNamespace string
	// Timeout bounds each request (default 10 s).
	Timeout time.Duration
	// HTTPClient sends the requests (default: one with Timeout).
	HTTPClient *http.Client
}

// Publisher publishes over the HTTP API. It is safe for concurrent use.
type Publisher struct {
	apiURL            string
	apiKey            string
	personalNamespace string
	http              *http.Client
}

// NewPublisher makes a publisher; it fails only when the URL or the key is
// neither given nor in the environment.
func NewPublisher(options PublisherOptions) (*Publisher, error) {
	apiURL, err := setting(options.APIURL, "API URL", "WIRECALL_API_URL", "WSRPC_API_URL")
	if err != nil {
		return nil, err
	}
	apiKey, err := setting(options.APIKey, "API key", "WIRECALL_API_KEY", "WSRPC_API_KEY")
	if err != nil {
		return nil, err
	}
	p := &Publisher{
		apiURL:            strings.TrimRight(apiURL, "/"),
		apiKey:            apiKey,
		personalNamespace: options.PersonalNamespace,
		http:              options.HTTPClient,
	}
	if p.personalNamespace == "" {
		p.personalNamespace = PersonalNamespace
	}
	if p.http == nil {
		timeout := options.Timeout
		if timeout == 0 {
			timeout = 10 * time.Second
		}
		p.http = &http.Client{Timeout: timeout}
	}
	return p, nil
}

func setting(value, what string, names ...string) (string, error) {
	for _, name := range names {
		if value == "" {
			value = os.Getenv(name)
		}
	}
	if value == "" {
		return "", fmt.Errorf("no %s: pass it, or set %s", what, names[0])
	}
	return value, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}

func requireUser(user string) error {
	if user == "" {
		return invalid("user required")
	}
	return nil
}

// Call calls API method method with params and decodes its result into
// result (nil to ignore it).
func (p *Publisher) Call(ctx context.Context, method string, params, result any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return invalid("params of %s: %v", method, err)
	}
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, p.apiURL+"/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w at %s: %w", ErrUnreachable, p.apiURL, err)
	}
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("X-API-Key", p.apiKey)
	response, err := p.http.Do(request)
	if err != nil {
		return fmt.Errorf("%w at %s: %w", ErrUnreachable, p.apiURL, err)
	}
	defer response.Body.Close()
	if response.StatusCode == http.StatusUnauthorized {
		return ErrUnauthorized
	}
	text, err := io.ReadAll(io.LimitReader(response.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w at %s: %w", ErrUnreachable, p.apiURL, err)
	}
	var reply struct {
		Result json.RawMessage `json:"result"`
		Error  *RefusedError   `json:"error"`
	}
	if err := json.Unmarshal(text, &reply); err != nil {
		return fmt.Errorf("%w (HTTP %d): %.200s", ErrUnexpectedResponse, response.StatusCode, text)
	}
	if reply.Error != nil {
		return reply.Error
	}
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("%w (HTTP %d)", ErrUnexpectedResponse, response.StatusCode)
	}
	if result == nil || len(reply.Result) == 0 {
		return nil
	}
	return json.Unmarshal(reply.Result, result)
}

// Publish publishes data (anything encoding/json writes) into channel; its
// offset (0 without history).
func (p *Publisher) Publish(ctx context.Context, channel string, data any) (uint64, error) {
	var result struct {
		Offset uint64 `json:"offset"`
	}
	err := p.Call(ctx, "publish", map[string]any{"channel": channel, "data": data}, &result)
	return result.Offset, err
}

// IsConnected says whether user has a live connection now.
func (p *Publisher) IsConnected(ctx context.Context, user string) (bool, error) {
	if err := requireUser(user); err != nil {
		return false, err
	}
	var result struct {
		Connections int `json:"connections"`
	}
	err := p.Call(ctx, "user_connections", map[string]string{"user": user}, &result)
	return result.Connections > 0, err
}

func (p *Publisher) personalChannel(user string) string {
	return p.personalNamespace + ":#" + user
}

func (p *Publisher) personal(ctx context.Context, user string, payload PersonalMessageVariant) (bool, error) {
	delivered, err := p.IsConnected(ctx, user)
	if err != nil {
		return false, err
	}
	if _, err := p.Publish(ctx, p.personalChannel(user), PersonalMessage{Value: payload}); err != nil {
		return false, err
	}
	return delivered, nil
}

// dataJSON is data's JSON, or {} for nil (a typed nil too: a nil map,
// slice or pointer), as the other publishers write it; data that
// encoding/json cannot write is an ErrInvalidArgument.
func dataJSON(data any) (json.RawMessage, error) {
	if isNil(data) {
		return json.RawMessage("{}"), nil
	}
	encoded, err := json.Marshal(data)
	if err != nil {
		return nil, invalid("data is not JSON: %v", err)
	}
	return encoded, nil
}

func isNil(data any) bool {
	if data == nil {
		return true
	}
	value := reflect.ValueOf(data)
	switch value.Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface:
		return value.IsNil()
	}
	return false
}

// SendMessage sends user a user.message; data (nil for {}) rides along. It
// says whether they had a live connection.
func (p *Publisher) SendMessage(ctx context.Context, user, message string, data any) (bool, error) {
	encoded, err := dataJSON(data)
	if err = errors.Join(requireUser(user), err); err != nil {
		return false, err
	}
	return p.personal(ctx, user, PersonalMessageUserMessage{UserMessage{
		Username:  user,
		Message:   message,
		Data:      encoded,
		Timestamp: time.Now().UTC(),
	}})
}

// NotificationOptions are a notification's optional fields.
type NotificationOptions struct {
	// Type is how it is shown (default info).
	Type NotificationKind
	// Title is a short title (default empty).
	Title string
	// Data is extra data (default {}).
	Data any
}

// SendNotification sends user a user.notification (success, error, info or
// warning).
func (p *Publisher) SendNotification(ctx context.Context, user, message string, options NotificationOptions) (bool, error) {
	kind := options.Type
	if kind == "" {
		kind = NotificationKindInfo
	}
	encoded, err := dataJSON(options.Data)
	err = errors.Join(requireUser(user), err)
	if !slices.Contains(NotificationTypes, kind) {
		err = errors.Join(err, invalid("notification type must be one of success, error, info, warning, got %q", kind))
	}
	if err != nil {
		return false, err
	}
	return p.personal(ctx, user, PersonalMessageUserNotification{UserNotification{
		Username:         user,
		NotificationType: kind,
		Title:            options.Title,
		Message:          message,
		Data:             encoded,
		Timestamp:        time.Now().UTC(),
	}})
}

// FileOptions are a file-ready notice's optional fields.
type FileOptions struct {
	// FileName defaults to the URL's last path segment.
	FileName string
	// Message defaults to "File ready for download".
	Message string
	// FileSize is its size in bytes, when known.
	FileSize *uint64
	// Data is extra data (default {}).
	Data any
}

// SendFile sends user a user.file: a file ready for download.
func (p *Publisher) SendFile(ctx context.Context, user, fileURL string, options FileOptions) (bool, error) {
	encoded, err := dataJSON(options.Data)
	err = errors.Join(requireUser(user), err)
	if fileURL == "" {
		err = errors.Join(err, invalid("file URL required"))
	}
	if err != nil {
		return false, err
	}
	name := options.FileName
	if name == "" {
		name = fileNameOf(fileURL)
	}
	message := options.Message
	if message == "" {
		message = "File ready for download"
	}
	return p.personal(ctx, user, PersonalMessageUserFile{UserFile{
		Username:  user,
		FileUrl:   fileURL,
		FileName:  name,
		FileSize:  options.FileSize,
		Message:   message,
		Data:      encoded,
		Timestamp: time.Now().UTC(),
	}})
}

// fileNameOf is the URL's last path segment, or "download".
func fileNameOf(fileURL string) string {
	cut, _, _ := strings.Cut(fileURL, "?")
	cut, _, _ = strings.Cut(cut, "#")
	cut = strings.TrimRight(cut, "/")
	name := cut[strings.LastIndex(cut, "/")+1:]
	if name == "" || strings.Contains(name, ":") {
		return "download"
	}
	return name
}

// BroadcastMessage sends a user.message to each of users (each once); how
// many had a live connection. Every name is checked before anything is sent.
func (p *Publisher) BroadcastMessage(ctx context.Context, message string, users []string, data any) (int, error) {
	if slices.Contains(users, "") {
		return 0, invalid("user required (an empty user name was given)")
	}
	// Written once for every user (and checked before anything is sent).
	encoded, err := dataJSON(data)
	if err != nil {
		return 0, err
	}
	reached := 0
	seen := make(map[string]bool, len(users))
	for _, user := range users {
		if seen[user] {
			continue
		}
		seen[user] = true
		delivered, err := p.SendMessage(ctx, user, message, encoded)
		if err != nil {
			return reached, err
		}
		if delivered {
			reached++
		}
	}
	return reached, nil
}

// Task is a notifier for one task's progress on channel.
func (p *Publisher) Task(taskID, channel string) *TaskNotifier {
	return &TaskNotifier{publisher: p, TaskID: taskID, Channel: channel}
}

// TaskNotifier publishes task_update per step, then task_complete or
// task_error; call them in turn.
type TaskNotifier struct {
	publisher *Publisher
	// TaskID is the task's ID, in every event.
	TaskID string
	// Channel is where the events go.
	Channel string
}

func (t *TaskNotifier) send(ctx context.Context, event TaskEventVariant) (uint64, error) {
	return t.publisher.Publish(ctx, t.Channel, TaskEvent{Value: event})
}

// Update publishes a task_update with progress (0 to 100) and status
// processing; data (nil for {}) rides along.
func (t *TaskNotifier) Update(ctx context.Context, message string, progress int, data any) (uint64, error) {
	return t.UpdateStatus(ctx, TaskUpdateStatusProcessing, message, progress, data)
}

// UpdateStatus is Update with another status (TaskUpdateStatusQueued).
func (t *TaskNotifier) UpdateStatus(ctx context.Context, status TaskUpdateStatus, message string, progress int, data any) (uint64, error) {
	if progress < 0 || progress > 100 {
		return 0, invalid("progress must be within 0..=100, got %d", progress)
	}
	if status != TaskUpdateStatusProcessing && status != TaskUpdateStatusQueued {
		return 0, invalid("status must be processing or queued, got %q", status)
	}
	encoded, err := dataJSON(data)
	if err != nil {
		return 0, err
	}
	return t.send(ctx, TaskEventTaskUpdate{TaskUpdate{
		TaskId:   t.TaskID,
		Status:   status,
		Message:  message,
		Progress: uint8(progress),
		Data:     encoded,
	}})
}

// Complete publishes a task_complete with the task's result (nil for {}).
func (t *TaskNotifier) Complete(ctx context.Context, message string, result any) (uint64, error) {
	encoded, err := dataJSON(result)
	if err != nil {
		return 0, err
	}
	return t.send(ctx, TaskEventTaskComplete{TaskComplete{
		TaskId:  t.TaskID,
		Status:  TaskCompleteStatusCompleted,
		Message: message,
		Result:  encoded,
	}})
}

// Error publishes a task_error.
func (t *TaskNotifier) Error(ctx context.Context, code, message string) (uint64, error) {
	return t.send(ctx, TaskEventTaskError{TaskError{
		TaskId:  t.TaskID,
		Error:   code,
		Message: message,
	}})
}

// channelPart checks a string channel parameter: non-empty, and without
// the characters that would change the name's anatomy (refused).
func channelPart(param, value, refused string) error {
	if value == "" || strings.ContainsAny(value, refused) || strings.IndexFunc(value, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}) >= 0 {
		return invalid("channel parameter %s must be non-empty, without whitespace or any of %q, got %q", param, refused, value)
	}
	return nil
}

// channelUUID checks a UUID channel parameter (the name holds it in lower
// case, as the server writes it).
func channelUUID(param, value string) error {
	const hex = "0123456789abcdefABCDEF"
	ok := len(value) == 36
	for i := 0; ok && i < len(value); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			ok = value[i] == '-'
		} else {
			ok = strings.IndexByte(hex, value[i]) >= 0
		}
	}
	if !ok {
		return invalid("channel parameter %s must be a UUID, got %q", param, value)
	}
	return nil
}
