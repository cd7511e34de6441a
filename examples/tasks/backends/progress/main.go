// Command progress drives a task's progress bar on the tasks page from a Go
// backend: the generated Go package's Publisher, over the server's HTTP API
// (WIRECALL_API_URL and WIRECALL_API_KEY).
//
//	go run . -task 6f1c…-… -owner alice -steps 4
//
// The page follows its pending tasks, so a job that a Go service takes up
// shows its progress live. With -step-on-input it waits for a line on stdin
// before each event after the first (the browser test steps it so).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	tasks "example.com/tasks-client"
)

func main() {
	taskID := flag.String("task", "", "the task's ID")
	owner := flag.String("owner", "", "the user it belongs to")
	steps := flag.Int("steps", 4, "how many updates before it completes")
	stepOnInput := flag.Bool("step-on-input", false, "wait for a line on stdin between events")
	flag.Parse()
	if *taskID == "" || *owner == "" || *steps < 1 {
		flag.Usage()
		os.Exit(2)
	}

	publisher, err := tasks.NewPublisher(tasks.PublisherOptions{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The task_progress family's channel (PublishTaskProgress is the typed
	// way to publish any TaskEvent there). The server writes UUIDs in lower
	// case, in channel names and in events alike.
	id := strings.ToLower(*taskID)
	task := publisher.Task(id, fmt.Sprintf("tasks:%s#%s", id, *owner))

	input := bufio.NewScanner(os.Stdin)
	next := func() {
		if *stepOnInput && !input.Scan() {
			log.Fatal("stdin closed")
		}
	}
	for step := 1; step <= *steps; step++ {
		if step > 1 {
			next()
		}
		message := fmt.Sprintf("Step %d of %d (from Go)", step, *steps)
		if _, err := task.Update(ctx, message, step*100 / *steps, nil); err != nil {
			log.Fatal(err)
		}
		fmt.Println("update", step)
	}
	next()
	if _, err := task.Complete(ctx, "Done in Go", map[string]int{"steps": *steps}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("complete")
}
