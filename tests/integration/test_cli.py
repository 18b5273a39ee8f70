"""`segmetrics-bot` as a newcomer runs it: one command in, a confirmation or a clear error out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.sandbox import Sandbox, SandboxServer
from tests.integration.conftest import ACCOUNT, API_KEY, INTEGRATION


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("SEGMETRICS_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**clean, **(env or {})},
        timeout=60,
    )


def test_exec_in_the_sandbox(tmp_path: Path) -> None:
    result = run_cli("exec", "contact add jane@example.com first=Jane", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "SANDBOX MODE" in result.stderr
    assert result.stdout.startswith("✓ [sandbox] saved contact jane@example.com")
    assert "First name  Jane" in result.stdout


def test_exec_reports_bad_input_and_sends_nothing(tmp_path: Path) -> None:
    result = run_cli("exec", "order add INV-1 jane@example.com amount=12.345 product_id=P", cwd=tmp_path)
    assert result.returncode == 2
    assert "Nothing was sent to SegMetrics" in result.stderr
    assert "Order total (`amount`): `12.345` has 3 decimals" in result.stderr


def test_exec_reports_grammar_errors_with_usage(tmp_path: Path) -> None:
    result = run_cli("exec", "order add INV-1 jane@example.com amont=5", cwd=tmp_path)
    assert result.returncode == 2
    assert "did you mean `amount`" in result.stderr
    assert "usage: order add <id> <email|contact_id>" in result.stderr


def test_exec_against_a_live_api(tmp_path: Path) -> None:
    sandbox = Sandbox(api_key=API_KEY, account_id=ACCOUNT, integration_id=INTEGRATION)
    with SandboxServer(sandbox) as server:
        env = {
            "SEGMETRICS_API_KEY": API_KEY,
            "SEGMETRICS_ACCOUNT_ID": ACCOUNT,
            "SEGMETRICS_INTEGRATION_ID": INTEGRATION,
            "SEGMETRICS_IMPORT_URL": server.import_url,
            "SEGMETRICS_REPORTING_URL": server.reporting_url,
        }
        result = run_cli("exec", "tag add jane@example.com VIP", cwd=tmp_path, env=env)
        assert result.returncode == 1
        assert result.stderr.strip() == "✗ SegMetrics rejected the request: contact jane@example.com not found."
        result = run_cli("exec", "contact add jane@example.com", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert "[sandbox]" not in result.stdout
    assert [request.path for request in sandbox.requests] == [
        "/api/v1/acct-1/int-9/tags/add",
        "/api/v1/acct-1/int-9/contact",
    ]
    assert API_KEY not in result.stdout + result.stderr


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    result = run_cli("exec", "contact add a@b.com", "--tz", "Mars/Olympus", cwd=tmp_path)
    assert result.returncode == 2
    assert "'Mars/Olympus' is not an IANA time zone" in result.stderr


def test_locale_decides_day_and_month_in_the_terminal(tmp_path: Path) -> None:
    command = "order add INV-1 jane@example.com amount=5 product_id=P date=02/03/2026"
    british = run_cli("exec", command, "--tz", "Europe/London", "--locale", "en-GB", cwd=tmp_path)
    assert british.returncode == 0, british.stderr
    assert "Mon Mar 2, 2026" in british.stdout
    american = run_cli("exec", command, "--tz", "Europe/London", "--locale", "en-US", cwd=tmp_path)
    assert "Tue Feb 3, 2026" in american.stdout
    unknown = run_cli("exec", command, "--locale", "xx-Nowhere", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "--locale" in unknown.stderr and "en-GB" in unknown.stderr


def test_settings_problems_stop_the_cli_with_one_message(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SEGMETRICS_TIMEZONE=Nowhere/Land\nSEGMETRICS_CURRENCY=XYZ1\n")
    result = run_cli("exec", "contact add a@b.com", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Cannot start: the settings have problems.")
    assert "SEGMETRICS_TIMEZONE" in result.stderr and "SEGMETRICS_CURRENCY" in result.stderr


def test_audit_exports_csv_and_json(tmp_path: Path) -> None:
    import json as json_module
    from datetime import UTC, datetime

    from bot.store import AuditEvent, Store

    store = Store(f"sqlite:///{tmp_path}/segmetrics-bot.db")
    store.record(AuditEvent("tag add", "refused", user_id="U2", detail="rule", at=datetime(2026, 1, 1, tzinfo=UTC)))
    store.record(AuditEvent("tag add", "succeeded", user_id="U1", request={"json": {"tags": ["VIP"]}}, status_code=200))
    store.close()
    result = run_cli("audit", "--format", "json", "--since", "2026-06-01", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json_module.loads(result.stdout)
    assert [(row["user_id"], row["outcome"], row["request"]) for row in rows] == [
        ("U1", "succeeded", {"json": {"tags": ["VIP"]}})
    ]
    result = run_cli("audit", "--user", "U2", cwd=tmp_path)
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("id,at,team_id,user_id,channel_id,operation,outcome")
    assert len(lines) == 2 and ",U2,,tag add,refused,rule," in lines[1]
    result = run_cli("audit", "--since", "whenever", cwd=tmp_path)
    assert result.returncode == 2 and "--since could not read `whenever`" in result.stderr


def test_exec_changes_only_what_it_says_of_an_order_it_sent(tmp_path: Path) -> None:
    unknown = run_cli("exec", "order refund INV-1 5", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "no record of order INV-1" in unknown.stderr and "send the whole record with `order add" in unknown.stderr
    added = run_cli("exec", 'order add INV-1 jane@example.com item="Course | C-1 | 30" date=2026-11-20', cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    refunded = run_cli("exec", "order refund INV-1 5", cwd=tmp_path)
    assert refunded.returncode == 0, refunded.stderr
    assert "Amount paid  $30.00 → $25.00" in refunded.stdout and "nothing else changed" in refunded.stdout


def test_exec_routes_through_the_connections_the_slack_bot_has(tmp_path: Path) -> None:
    # One declared in the file (orders), one added in Slack (ads, stored encrypted in the shared database).
    from cryptography.fernet import Fernet

    from bot.keyring import Keyring
    from bot.store import Store, StoredConnection

    secret, ads_key = Fernet.generate_key().decode(), "sk-ads-cli-55aa11"
    database = f"sqlite:///{tmp_path}/bot.db"
    store = Store(database)
    store.save_connection(
        StoredConnection("ads", ACCOUNT, "91", "UTC", "EUR", ("ad",), (), Keyring(secret).encrypt(ads_key))
    )
    store.close()
    (tmp_path / "connections.toml").write_text(
        f'[connections.payments]\napi_key = "{API_KEY}"\naccount_id = "{ACCOUNT}"\nintegration_id = "77"\n'
        'resources = ["order"]\n',
        encoding="utf-8",
    )
    sandbox = Sandbox(
        api_key=API_KEY, account_id=ACCOUNT, integration_id=INTEGRATION, more_integrations=("77", "91"),
        more_keys=(ads_key,),
    )  # fmt: skip
    with SandboxServer(sandbox) as server:
        env = {
            "SEGMETRICS_API_KEY": API_KEY,
            "SEGMETRICS_ACCOUNT_ID": ACCOUNT,
            "SEGMETRICS_INTEGRATION_ID": INTEGRATION,
            "SEGMETRICS_IMPORT_URL": server.import_url,
            "SEGMETRICS_REPORTING_URL": server.reporting_url,
            "SEGMETRICS_CONNECTIONS": str(tmp_path / "connections.toml"),
            "SEGMETRICS_BOT_DATABASE_URL": database,
            "SEGMETRICS_BOT_SECRET_KEY": secret,
        }
        order = run_cli(
            "exec", "order add INV-1 jane@example.com amount=5 product_id=P date=2026-11-20", cwd=tmp_path, env=env
        )
        assert order.returncode == 0, order.stderr
        assert order.stdout.splitlines()[0].endswith("(via payments)")
        ad = run_cli("exec", "ad record AD-1 spend=12.50 date=2026-11-20", cwd=tmp_path, env=env)
        assert ad.returncode == 0, ad.stderr
        assert "€12.50" in ad.stdout and ad.stdout.splitlines()[0].endswith("(via ads)")
        chosen = run_cli("exec", "contact add jane@example.com via=ads", cwd=tmp_path, env=env)
        assert chosen.returncode == 0, chosen.stderr
        wrong = run_cli("exec", "contact add jane@example.com via=adds", cwd=tmp_path, env=env)
        assert wrong.returncode == 2 and "did you mean `via=ads`" in wrong.stderr.lower()
        # Without the key that encrypted the Slack-added connection, nothing is sent anywhere.
        unreadable = run_cli("exec", "ad record AD-2 spend=1 date=2026-11-20", cwd=tmp_path,
                             env={**env, "SEGMETRICS_BOT_SECRET_KEY": Fernet.generate_key().decode()})  # fmt: skip
        assert unreadable.returncode == 1 and "cannot be read" in unreadable.stderr
    assert [request.path for request in sandbox.requests] == [
        f"/api/v1/{ACCOUNT}/77/invoice",
        f"/api/v1/{ACCOUNT}/91/ad/performance",
        f"/api/v1/{ACCOUNT}/91/contact",
    ]
    assert ads_key not in order.stdout + ad.stdout + ad.stderr + unreadable.stderr
