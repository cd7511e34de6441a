"""Sends a user of the tasks example a notification from a plain Python process (no Rust
in it): the generated publisher, over the server's HTTP API.

    export WIRECALL_API_URL=http://127.0.0.1:8000/api WIRECALL_API_KEY=dev-api-key
    python notify.py alice "Hello from Python" --type success --title Backend

Prints whether the user had a live connection. Needs the generated Python package
(../clients/generated/python, importable as `tasks_client`) and its requirements.
"""

import argparse

from tasks_client.publisher import NOTIFICATION_TYPES, Publisher


def main() -> None:
    parser = argparse.ArgumentParser(description="Notify a user of the tasks example.")
    parser.add_argument("user")
    parser.add_argument("message")
    parser.add_argument("--type", default="info", choices=NOTIFICATION_TYPES)
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    with Publisher() as publisher:
        delivered = publisher.send_notification(args.user, args.message, args.type, args.title)
    print("delivered" if delivered else "not delivered (no live connection)")


if __name__ == "__main__":
    main()
