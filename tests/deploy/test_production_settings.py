"""Settings with DJANGO_DEBUG=0: clean under `check --deploy`, refusing what is unsafe, JSON logs.

Each case is a fresh process: settings are computed once at import, so only a new interpreter
with the environment set sees what production sees.
"""

from __future__ import annotations

import json

import pytest

from . import stack

SETUP = "import django; django.setup()"
# A new interpreter per case (a second or more each): `make test` runs them, not test-fast.
pytestmark = pytest.mark.slow


def test_it_passes_check_deploy_with_a_production_environment(tmp_path) -> None:
    result = stack.manage(stack.production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"DJANGO_SECRET_KEY": "dev-only-insecure-key-never-use-in-production"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "too-short"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS"),
        ({"DJANGO_ALLOWED_HOSTS": "*"}, "DJANGO_ALLOWED_HOSTS"),
        ({"REDIS_URL": None}, "REDIS_URL"),
        ({"REDIS_URL": None, "CELERY_BROKER_URL": None}, "REDIS_URL"),
        ({"URL_PREFIX": "ai-sim-coach"}, "URL_PREFIX"),
        ({"SIGNUP": "yes"}, "SIGNUP"),
        ({"TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT"),
        ({"TRUSTED_PROXY_COUNT": "9"}, "TRUSTED_PROXY_COUNT"),
        ({"COACH_CUE_BUDGET": "-1"}, "COACH_CUE_BUDGET"),
        ({"COACH_FRESH_S": "0"}, "COACH_FRESH_S"),
    ],
)
def test_it_refuses_to_load_unsafe_values(tmp_path, change: dict[str, str | None], message: str) -> None:
    env = stack.production_env(tmp_path)
    for name, value in change.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    result = stack.run_python(env, "-c", SETUP)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]


def test_it_turns_hsts_on_by_default_without_debug(tmp_path) -> None:
    env = stack.production_env(tmp_path)
    del env["DJANGO_HSTS_SECONDS"]
    result = stack.manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0 and "W004" not in result.stdout + result.stderr, (
        result.stdout + result.stderr
    )
    code = f"{SETUP}; from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS)"
    assert stack.run_python(env, "-c", code).stdout.strip() == "31536000"
    debug = stack.clean_env(tmp_path)
    assert stack.run_python(debug, "-c", code).stdout.strip() == "0"  # never on a laptop's localhost


def test_it_loads_the_production_environment(tmp_path) -> None:
    result = stack.run_python(stack.production_env(tmp_path), "-c", SETUP)
    assert result.returncode == 0, result.stderr


def test_it_loads_embedded_only_when_asked_explicitly(tmp_path) -> None:
    env = stack.production_env(tmp_path, SIMCOACH_ALLOW_EMBEDDED="1")
    del env["REDIS_URL"], env["CELERY_BROKER_URL"]
    result = stack.run_python(env, "-c", SETUP)
    assert result.returncode == 0, result.stderr


def test_it_logs_json_lines_to_stdout(tmp_path) -> None:
    code = f"{SETUP}; import logging; logging.getLogger('simcoach.test').warning('lap %s done', 3)"
    result = stack.run_python(stack.production_env(tmp_path), "-c", code)
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout.strip().splitlines()[-1])
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "simcoach.test"
    assert entry["message"] == "lap 3 done"


def test_the_image_builds_its_static_files_with_the_production_storage(tmp_path) -> None:
    # The Dockerfile's collectstatic step, run here: settings must load with its build-only
    # values and write the manifest whitenoise serves hashed names from.
    dockerfile = (stack.ROOT / "Dockerfile").read_text()
    step = dockerfile.split("RUN DJANGO_DEBUG=0", 1)[1].split("python manage.py collectstatic", 1)[0]
    build_env = dict(part.split("=", 1) for part in step.replace("\\", " ").split())
    build_env["DJANGO_DEBUG"] = "0"
    static_root = tmp_path / "static"
    env = stack.clean_env(tmp_path, DJANGO_STATIC_ROOT=str(static_root), **build_env)
    result = stack.manage(env, "collectstatic", "--noinput")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    assert "css/site.css" in manifest["paths"]
    assert (static_root / manifest["paths"]["css/site.css"]).exists()
    assert (static_root / (manifest["paths"]["css/site.css"] + ".gz")).exists()
