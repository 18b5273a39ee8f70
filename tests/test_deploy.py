"""deploy/: the compose file parses and runs what the README's "Deploy" describes; the image is non-root
and checks its own health."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_compose_runs_postgresql_two_replicas_and_a_proxy() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"db", "bot-1", "bot-2", "proxy"}
    assert services["db"]["image"].startswith("postgres:")
    for name in ("bot-1", "bot-2"):
        bot = services[name]  # bot-2 is bot-1 through a YAML merge key
        assert bot["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert bot["environment"]["SEGMETRICS_BOT_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert ":?" in bot["environment"]["SEGMETRICS_BOT_DATABASE_URL"]  # no silent default password
        assert bot["depends_on"]["db"]["condition"] == "service_healthy"
        assert bot["stop_grace_period"] == "45s"
    assert services["proxy"]["depends_on"] == ["bot-1", "bot-2"]
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert "reverse_proxy bot-1:3000 bot-2:3000" in caddy and "health_uri /healthz" in caddy
    for name in ("db", "bot-1", "bot-2", "proxy"):
        assert f"`{name}`" in README, f"the README's Deploy section names the service {name}"


def test_the_image_is_small_non_root_and_checks_its_health() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM python:3.11-slim" in dockerfile
    assert "\nUSER bot\n" in dockerfile and "useradd" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert 'CMD ["segmetrics-bot", "serve", "--host", "0.0.0.0", "--port", "3000"]' in dockerfile
    # Everything the image copies exists, and the secrets file is never in the build context's history.
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    assert "deploy/bot.env" in (ROOT / ".gitignore").read_text(encoding="utf-8")
    assert {"deploy/bot.env", ".env", "*.db"} <= set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    # The wheels are mounted for the install, not copied into a layer that would keep them.
    assert "COPY --from=build" not in dockerfile and "--mount=type=bind,from=build" in dockerfile
