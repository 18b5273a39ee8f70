"""The fakes' process for the benchmarks: Slack's Web API and the SegMetrics sandbox (answering after
`latency` seconds), both on 127.0.0.1. Prints where they listen, then answers questions on stdin."""

from __future__ import annotations

import json
import sys

from bot.sandbox import Sandbox, SandboxServer
from bot.testing import FakeSlack


def main() -> None:
    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    sandbox = Sandbox(api_key="bench-api-key", account_id="bench", integration_id="bench", latency=latency)
    # Every bench contact exists, so tag add succeeds like order add and contact add.
    with SandboxServer(sandbox) as server, FakeSlack() as slack:
        print(
            json.dumps(
                {
                    "slack_api_url": slack.api_url,
                    "response_url": slack.response_url("bench"),
                    "bot_token": slack.bot_token,
                    "import_url": server.import_url,
                    "reporting_url": server.reporting_url,
                }
            ),
            flush=True,
        )
        for line in sys.stdin:
            question = line.strip()
            if question.startswith("contacts "):
                # Every bench contact exists up front, so a tag add succeeds like the other commands.
                for index in range(int(question.split()[1])):
                    body = json.dumps({"email": f"person{index}@example.com"}).encode()
                    sandbox.handle("POST", "/api/v1/bench/bench/contact", "", {"authorization": "bench-api-key"}, body)
                sandbox.reset_requests()
                answer: object = True
            elif question.startswith("oauth "):
                # Installing by link (bench.workspaces): the app's client id and secret.
                client_id, secret = question.split()[1:3]
                slack.enable_oauth(client_id, secret)
                answer = True
            elif question.startswith("approve "):
                # A user of a workspace allows the app on the "Add to Slack" page: where the browser goes back.
                url, team, user, redirect = question.split()[1:5]
                answer = slack.approve(url, team=team, user=user, redirect_url=redirect)
            elif question == "posted":
                answer = len(slack.calls_to("chat.postMessage"))
            elif question == "segmetrics":
                answer = len(sandbox.requests)
            elif question == "peak connections":
                answer = server.peak_connections
            elif question.startswith("file "):
                # A CSV a user shared (bench.import): its id, for the import form's file input.
                path = question.removeprefix("file ")
                with open(path, "rb") as shared:
                    answer = slack.add_file(shared.read(), name=path.rsplit("/", 1)[-1])
            elif question.startswith("views "):
                # The views the bot opened or updated, from the n-th on (bench.import drives the forms).
                calls = [call for call in slack.calls if call.method in ("views.open", "views.update")]
                answer = [call.args for call in calls[int(question.split()[1]) :]]
            elif question == "last update":
                updates = slack.calls_to("chat.update")
                answer = updates[-1].args.get("text") if updates else None
            elif question == "posted at":
                # When each chat.postMessage arrived: CLOCK_MONOTONIC, the same for every process on the machine.
                answer = [call.at for call in slack.calls_to("chat.postMessage")]
            else:
                answer = None
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
