// What the page shows: the connection indicator, the task list with its
// progress bars, toasts and the file dialog. Text goes in through
// textContent only, never as HTML.

import type { CentrifugoRPCClient, Task, UserFile } from "../../clients/generated/typescript/index.js";

/** How long a toast stays, in milliseconds. */
const TOAST_MS = 6000;

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text = "",
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

/** Shows the connection's state: connecting, connected, reconnecting
 * (after having been connected) or disconnected. */
export function connectionIndicator(rpc: CentrifugoRPCClient): void {
  const indicator = document.getElementById("connection")!;
  let wasConnected = false;
  const show = (state: string): void => {
    indicator.dataset.state = state;
    indicator.textContent = state === "connected" ? "connected" : `${state}…`;
  };
  rpc.onStateChange((state) => {
    if (state === "connected") {
      wasConnected = true;
      show("connected");
    } else if (state === "connecting") {
      show(wasConnected ? "reconnecting" : "connecting");
    } else {
      show("disconnected");
    }
  });
}

/** A toast coloured by `kind` (success, error, warning, info, message)
 * that dismisses itself. */
export function toast(kind: string, title: string, message: string): void {
  const node = element("div", "toast");
  node.dataset.kind = kind;
  node.setAttribute("role", kind === "error" ? "alert" : "status");
  if (title) node.append(element("strong", "title", title));
  node.append(element("span", "message", message));
  document.getElementById("toasts")!.append(node);
  setTimeout(() => node.remove(), TOAST_MS);
}

function humanSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "";
  const units = ["bytes", "KB", "MB", "GB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return unit === 0 ? `(${size} bytes)` : `(${size.toFixed(1)} ${units[unit]})`;
}

/** The file-ready dialog; Download opens the file in a new tab. */
export function fileDialog(file: UserFile): void {
  const dialog = document.getElementById("file-dialog") as HTMLDialogElement;
  dialog.querySelector(".file-name")!.textContent = file.file_name;
  dialog.querySelector(".file-size")!.textContent = humanSize(file.file_size);
  dialog.querySelector(".file-message")!.textContent = file.message;
  const download = dialog.querySelector(".download") as HTMLButtonElement;
  download.onclick = () => {
    window.open(file.file_url, "_blank", "noopener");
    dialog.close();
  };
  (dialog.querySelector(".close") as HTMLButtonElement).onclick = () => dialog.close();
  if (!dialog.open) dialog.showModal();
}

/** A problem that stops the page (no token, server unreachable). */
export function problem(text: string): void {
  const node = document.getElementById("problem")!;
  node.textContent = text;
  node.hidden = false;
}

/** The task list: one item per task, newest on top. */
export const taskList = {
  add(task: Task): void {
    const item = element("li", "task");
    item.dataset.taskId = task.id;
    const line = element("div", "line");
    line.append(element("span", "title", task.title), element("span", "status"));
    const bar = element("div", "bar");
    bar.append(element("div", "fill"));
    const comment = element("form", "comment");
    comment.autocomplete = "off";
    const input = element("input", "text");
    input.name = "text";
    input.placeholder = "Comment";
    input.required = true;
    comment.append(input, element("button", "send", "Comment"));
    item.append(line, bar, element("small", "detail"), element("ul", "comments"), comment);
    document.getElementById("tasks")!.prepend(item);
    this.progress(task.id, task.progress, task.status);
  },

  /** Marks the task as followed live: its progress subscription is up. */
  following(taskId: string): void {
    const item = document.querySelector<HTMLElement>(`.task[data-task-id="${CSS.escape(taskId)}"]`);
    if (item) item.dataset.following = "true";
  },

  /** The task's comment form. */
  commentForm(taskId: string): HTMLFormElement | null {
    return document.querySelector<HTMLFormElement>(`.task[data-task-id="${CSS.escape(taskId)}"] form.comment`);
  },

  /** Adds a comment under the task. */
  comment(taskId: string, text: string): void {
    const list = document.querySelector(`.task[data-task-id="${CSS.escape(taskId)}"] .comments`);
    list?.append(element("li", "comment", text));
  },

  /** Moves the bar to `percent` (unchanged when null) and sets the status. */
  progress(taskId: string, percent: number | null, status: string, detail = ""): void {
    const item = document.querySelector<HTMLElement>(`.task[data-task-id="${CSS.escape(taskId)}"]`);
    if (!item) return;
    item.dataset.status = status;
    if (percent !== null) {
      item.dataset.progress = String(percent);
      (item.querySelector(".fill") as HTMLElement).style.width = `${percent}%`;
    }
    const shown = status === "running" ? `${item.dataset.progress ?? 0}%` : status;
    item.querySelector(".status")!.textContent = shown;
    item.querySelector(".detail")!.textContent = detail;
  },
};
