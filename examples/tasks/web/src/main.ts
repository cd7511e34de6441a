// The tasks page: one connection through the generated TypeScript client
// (RPC, typed channel families for each task's progress and comments,
// typed personal messages); the DOM is updated by small functions in
// view.ts.

import { APIClient, CentrifugoRPCClient, RPCError } from "../../clients/generated/typescript/index.js";
import type { PersonalMessage, Task, TaskComment, TaskEvent } from "../../clients/generated/typescript/index.js";
import { connectionIndicator, fileDialog, problem, taskList, toast } from "./view.js";

/** Milliseconds between a run's progress steps. */
const STEP_MS = 150;

/** The user and token: `?token=` (with `?user=`, else the token's `sub`);
 * `?user=` in development mode, a token from `GET /dev/token`; otherwise
 * the web session, with no token at all: the browser sends its cookie with
 * the WebSocket's upgrade request and the server signs the connection in
 * by it. */
async function credentials(): Promise<{ user: string; token: string }> {
  const query = new URLSearchParams(location.search);
  const token = query.get("token");
  if (token) {
    return { user: query.get("user") ?? subject(token), token };
  }
  const user = query.get("user");
  if (user === null) {
    return { user: await session(), token: "" };
  }
  const reply = await fetch(`/dev/token?user=${encodeURIComponent(user)}`);
  if (!reply.ok) {
    throw new Error("No token: open this page as /?token=<JWT> (or run the server with --dev).");
  }
  const body = (await reply.json()) as { token: string };
  return { user, token: body.token };
}

/** The signed-in user of the session cookie, signing in first when there
 * is none (`POST /login`, served in development mode). */
async function session(): Promise<string> {
  const current = await fetch("/session");
  if (current.ok) {
    signOutButton();
    return ((await current.json()) as { user: string }).user;
  }
  const form = document.getElementById("sign-in") as HTMLFormElement;
  form.hidden = false;
  const user = await new Promise<string>((resolve) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const name = String(new FormData(form).get("user") ?? "").trim();
      fetch("/login", { method: "POST", body: JSON.stringify({ user: name }) }).then(async (reply) => {
        if (reply.ok) resolve(name);
        else if (reply.status === 404) problem("No sign-in here: open this page as /?token=<JWT> (or run the server with --dev).");
        else problem(await reply.text());
      }, (error: unknown) => problem(describe(error)));
    });
  });
  form.hidden = true;
  signOutButton();
  return user;
}

/** Shows "Sign out", which ends the session and reloads the page. */
function signOutButton(): void {
  const button = document.getElementById("sign-out") as HTMLButtonElement;
  button.hidden = false;
  button.addEventListener("click", () => {
    void fetch("/logout", { method: "POST" }).then(() => location.reload());
  });
}

/** The `sub` claim of a JWT, read without verifying (the server does). */
function subject(token: string): string {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return (JSON.parse(atob(payload)) as { sub?: string }).sub ?? "";
  } catch {
    return "";
  }
}

function describe(error: unknown): string {
  if (error instanceof RPCError) return `${error.message} (code ${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

function onPersonal(message: PersonalMessage): void {
  switch (message.type) {
    case "user.message":
      toast("message", "Message", message.message);
      break;
    case "user.notification":
      toast(message.notification_type, message.title, message.message);
      break;
    case "user.file":
      fileDialog(message);
      break;
  }
}

function onTaskEvent(event: TaskEvent): void {
  switch (event.type) {
    case "task_update":
      taskList.progress(event.task_id, event.progress, "running");
      break;
    case "task_complete":
      taskList.progress(event.task_id, 100, "completed");
      break;
    case "task_error":
      taskList.progress(event.task_id, null, "failed", event.message);
      break;
  }
}

/** Follows a task's progress (with recovery, so a reconnect misses nothing). */
async function follow(api: APIClient, task: Task): Promise<void> {
  const events = await api.subscribeTaskProgress({ taskId: task.id, owner: task.owner });
  events.on(onTaskEvent);
  taskList.following(task.id);
}

/** Shows a task's comments as they come (from this tab and the owner's
 * others) and publishes the form's: typed as `TaskComment`, checked by the
 * server against the same type. */
async function comments(api: APIClient, task: Task): Promise<void> {
  const channel = await api.subscribeTaskComments({ taskId: task.id, owner: task.owner });
  channel.on((comment: TaskComment) => taskList.comment(task.id, comment.text));
  const form = taskList.commentForm(task.id);
  if (form) form.dataset.live = "true";
  form?.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = String(new FormData(form).get("text") ?? "").trim();
    if (!text) return;
    channel.publish({ text }).then(
      () => form.reset(),
      (error: unknown) => toast("error", "Could not comment", describe(error)),
    );
  });
}

/** Lists a task with its comment stream. */
async function show(api: APIClient, task: Task): Promise<void> {
  taskList.add(task);
  await comments(api, task);
}

async function createAndRun(api: APIClient, title: string, steps: number, fail: boolean): Promise<void> {
  const task: Task = await api.tasksCreate({ title, steps });
  await show(api, task);
  // Subscribed before the run starts, so no step is missed.
  await follow(api, task);
  await api.tasksRun({ task_id: task.id, step_ms: STEP_MS, fail_at: fail ? 50 : null });
}

async function main(): Promise<void> {
  const { user, token } = await credentials();
  document.getElementById("user")!.textContent = user;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const rpc = new CentrifugoRPCClient(`${scheme}://${location.host}/connection/websocket`, token, user);
  const api = new APIClient(rpc);
  connectionIndicator(rpc);
  api.personalMessages().on(onPersonal);
  await rpc.connect();
  const { tasks } = await api.tasksList({ limit: 20 });
  for (const task of tasks.reverse()) {
    await show(api, task);
    // A run started elsewhere (another tab, before a reload) keeps moving
    // here, and so does a pending task that a backend job takes up later
    // (it publishes the progress; examples/tasks/backends).
    if (task.status === "running" || task.status === "pending") await follow(api, task);
  }

  const form = document.getElementById("create-task") as HTMLFormElement;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const title = String(data.get("title") ?? "");
    const steps = Number(data.get("steps") ?? 10);
    createAndRun(api, title, steps, data.get("fail") === "on").then(
      () => form.reset(),
      (error: unknown) => toast("error", "Could not run the task", describe(error)),
    );
  });
}

main().catch((error: unknown) => problem(describe(error)));
