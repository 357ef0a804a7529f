"""docker-compose.yml against the settings it feeds, the files it mounts and .env.example."""

from __future__ import annotations

import pytest

from . import stack

APP_SERVICES = ("web", "worker")
DATA_SERVICES = {"postgres": "/var/lib/postgresql/data", "redis": "/data", "influxdb": "/var/lib/influxdb2"}
# What settings.py refuses to start without (DEBUG off), plus what makes it the full stack.
PRODUCTION_REQUIRED = {
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "DATABASE_URL",
    "INFLUX_URL",
    "INFLUX_TOKEN",
    "TRACE_STORE",
}


class TestComposeFile:
    def test_it_has_the_whole_stack(self) -> None:
        services = set(stack.compose()["services"])
        assert {"postgres", "redis", "influxdb", "grafana", "web", "worker", "nginx"} <= services

    @pytest.mark.parametrize("service", APP_SERVICES)
    def test_it_sets_only_variables_settings_reads(self, service: str) -> None:
        env = stack.compose()["services"][service]["environment"]
        unknown = set(env) - stack.settings_env_names()
        assert not unknown, f"{service} sets variables settings.py never reads: {sorted(unknown)}"

    @pytest.mark.parametrize("service", APP_SERVICES)
    def test_it_sets_every_production_variable(self, service: str) -> None:
        env = stack.compose()["services"][service]["environment"]
        assert PRODUCTION_REQUIRED <= set(env)
        assert str(env["DJANGO_DEBUG"]) == "0"
        assert env["TRACE_STORE"] == "influx"

    def test_the_settings_scan_finds_what_settings_reads(self) -> None:
        # Guards the scanner itself: a regex that found nothing would pass the test above.
        names = stack.settings_env_names()
        assert {"DJANGO_DEBUG", "DATABASE_URL", "REDIS_URL", "URL_PREFIX", "INFLUX_TOKEN"} <= names
        assert {"DJANGO_SECRET_KEY_FILE", "SIMCOACH_VAR_DIR", "DJANGO_STATIC_ROOT"} <= names

    @pytest.mark.parametrize("service", sorted(stack.compose()["services"]))
    def test_every_service_has_a_health_check(self, service: str) -> None:
        check = stack.compose()["services"][service].get("healthcheck")
        assert check and check.get("test"), f"{service} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL")

    def test_health_checks_probe_what_the_issue_names(self) -> None:
        services = stack.compose()["services"]

        def probe(name: str) -> str:
            return " ".join(services[name]["healthcheck"]["test"])

        assert "pg_isready" in probe("postgres")
        assert "redis-cli ping" in probe("redis")
        assert "influx ping" in probe("influxdb")
        assert "/grafana/api/health" in probe("grafana")
        assert "/api/status" in probe("web")
        assert "inspect ping" in probe("worker")

    def test_named_volumes_are_declared_and_keep_the_data(self) -> None:
        spec = stack.compose()
        declared = set(spec["volumes"])
        for name, service in spec["services"].items():
            for mount in service.get("volumes", []):
                source = mount.split(":")[0]
                if not source.startswith((".", "/", "$")):
                    assert source in declared, f"{name} mounts undeclared volume {source}"
        for name, target in DATA_SERVICES.items():
            mounts = spec["services"][name]["volumes"]
            assert any(m.split(":")[1] == target and m.split(":")[0] in declared for m in mounts), name

    def test_bind_mounted_files_exist(self) -> None:
        for name, service in stack.compose()["services"].items():
            for mount in service.get("volumes", []):
                source = mount.split(":")[0]
                if source.startswith("./") and not source.startswith("./deploy/certs"):
                    assert (stack.ROOT / source).exists(), f"{name} mounts missing {source}"

    def test_the_influx_init_script_is_executable(self) -> None:
        # The influxdb image runs only executable *.sh files from /docker-entrypoint-initdb.d.
        scripts = list((stack.ROOT / "deploy" / "influxdb" / "init").glob("*.sh"))
        assert scripts
        for script in scripts:
            assert script.stat().st_mode & 0o111, f"{script} is not executable"
            assert "influx v1 dbrp create" in script.read_text()

    def test_only_the_proxy_publishes_ports(self) -> None:
        published = {n for n, s in stack.compose()["services"].items() if s.get("ports")}
        assert published == {"nginx"}


class TestEnvExample:
    def test_it_lists_every_variable_compose_uses(self) -> None:
        missing = stack.compose_variables() - set(stack.env_example())
        assert not missing, f".env.example lacks {sorted(missing)}"

    def test_it_documents_every_variable(self) -> None:
        # Each variable sits right under its comment or under another variable of the same block.
        lines = stack.ENV_EXAMPLE.read_text().splitlines()
        for i, line in enumerate(lines):
            if line and not line.startswith("#"):
                assert lines[i - 1].strip(), f"{line.split('=')[0]} has no comment above it"

    def test_it_commits_no_secret(self) -> None:
        values = stack.env_example()
        for name in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "INFLUX_TOKEN", "INFLUX_ADMIN_PASSWORD"):
            assert values[name] == "", f"{name} must be blank in .env.example"
        assert values["GRAFANA_ADMIN_PASSWORD"] == ""

    def test_compose_refuses_to_start_without_the_secrets(self) -> None:
        with pytest.raises(KeyError, match="DJANGO_SECRET_KEY"):
            stack.service_environment("web", stack.env_example())


class TestComposeProductionEnvironment:
    """The environment compose would give `web`, from a filled-in .env.example, in a real process."""

    @pytest.mark.slow  # a fresh interpreter with compose's environment
    def test_it_passes_check_deploy(self, tmp_path) -> None:
        env = stack.service_environment("web", stack.filled_env_example())
        result = stack.manage(
            stack.clean_env(tmp_path, **env), "check", "--deploy", "--fail-level", "WARNING"
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout

    @pytest.mark.slow  # a fresh interpreter with compose's environment
    def test_it_configures_the_full_stack_under_the_prefix(self, tmp_path) -> None:
        env = stack.service_environment("web", stack.filled_env_example())
        code = (
            "import json, django; django.setup(); from django.conf import settings as s; "
            "print(json.dumps([s.DEBUG, s.FORCE_SCRIPT_NAME, s.STATIC_URL, s.TRACE_STORE, "
            "s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, s.DATABASES['default']['ENGINE'], "
            "s.SESSION_COOKIE_PATH, s.SESSION_COOKIE_SECURE]))"
        )
        result = stack.run_python(stack.clean_env(tmp_path, **env), "-c", code)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == (
            '[false, "/ai-sim-coach", "/ai-sim-coach/static/", "influx", '
            '"channels_redis.pubsub.RedisPubSubChannelLayer", false, "django.db.backends.postgresql", '
            '"/ai-sim-coach", true]'
        )

    def test_grafana_is_served_under_the_same_prefix(self) -> None:
        variables = stack.filled_env_example()
        grafana = stack.service_environment("grafana", variables)
        web = stack.service_environment("web", variables)
        assert (
            grafana["GF_SERVER_ROOT_URL"]
            == f"https://{variables['SIMCOACH_HOST']}{web['URL_PREFIX']}/grafana/"
        )
        assert grafana["GF_SERVER_SERVE_FROM_SUB_PATH"] == "true"

    def test_the_proxy_routes_the_prefix_and_upgrades_sockets(self) -> None:
        template = (stack.ROOT / "deploy" / "nginx" / "simcoach.conf.template").read_text()
        assert "location ${URL_PREFIX}/grafana/" in template
        assert "location ${URL_PREFIX}/ " in template
        assert "proxy_set_header Upgrade $http_upgrade;" in template
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in template
