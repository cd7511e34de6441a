// Package publishing answers the stdin commands loadgen gives a server
// under test, as bench-server does, with whatever publishes to the peer:
//
//   - `publish <n> <bytes>`: n publications of about `bytes` bytes to
//     bench:fan, one after the other, each carrying the time it was made
//     ("t", Unix µs); answers `OK <elapsed µs>` or `ERR <why>`;
//   - `pace <n> <per second> <bytes>`: the same, at a fixed rate (a fixed
//     schedule: a late publication goes at once);
//   - `quit`, or the end of the input: Serve returns.
package publishing

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Publish sends one publication's data to bench:fan.
type Publish func(data []byte) error

// Serve answers commands read from input on output until `quit` or the
// end of input.
func Serve(input io.Reader, output io.Writer, publish Publish) {
	lines := bufio.NewScanner(input)
	for lines.Scan() {
		words := strings.Fields(lines.Text())
		var numbers []int
		for _, word := range words[min(1, len(words)):] {
			n, err := strconv.Atoi(word)
			if err != nil || n < 0 {
				numbers = nil
				break
			}
			numbers = append(numbers, n)
		}
		var elapsed time.Duration
		var err error
		switch {
		case len(words) == 0:
			continue
		case words[0] == "quit":
			return
		case words[0] == "publish" && len(numbers) == 2:
			elapsed, err = paced(publish, numbers[0], 0, numbers[1])
		case words[0] == "pace" && len(numbers) == 3 && numbers[1] > 0:
			elapsed, err = paced(publish, numbers[0], time.Second/time.Duration(numbers[1]), numbers[2])
		default:
			err = fmt.Errorf("unknown command or bad arguments: %s", lines.Text())
		}
		if err != nil {
			fmt.Fprintln(output, "ERR", err)
		} else {
			fmt.Fprintln(output, "OK", elapsed.Microseconds())
		}
	}
}

// paced publishes n publications of about size bytes, one every `every`
// (0: back to back), as bench-server does: {"t":µs,"seq":N,"pad":"…"}.
func paced(publish Publish, n int, every time.Duration, size int) (time.Duration, error) {
	pad := strings.Repeat("x", max(size-48, 0))
	started := time.Now()
	for seq := range n {
		if every > 0 {
			if wait := time.Until(started.Add(time.Duration(seq) * every)); wait > 0 {
				time.Sleep(wait)
			}
		}
		data := fmt.Sprintf(`{"t":%d,"seq":%d,"pad":"%s"}`, time.Now().UnixMicro(), seq, pad)
		if err := publish([]byte(data)); err != nil {
			return 0, err
		}
	}
	return time.Since(started), nil
}
