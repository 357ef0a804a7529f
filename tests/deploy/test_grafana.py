"""The provisioned Grafana: files parse, point at the compose services, and every dashboard query
names the `telemetry` measurement, real channels and the user/session/lap tags, then runs for real
against InfluxDB with Grafana's macros filled in."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from apps.traces.lib.influx import InfluxClient
from apps.traces.tracestore import MEASUREMENT, InfluxTraceStore
from simcoach_agent.channels import BY_NAME, WHEELS

from . import stack

GRAFANA = stack.ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "simcoach-telemetry.json"
TAGS = ("user", "session", "lap")


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panel_queries() -> list[str]:
    return [t["query"] for p in dashboard()["panels"] for t in p["targets"]]


def variables() -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in dashboard()["templating"]["list"]}


def selected_fields(query: str) -> list[str]:
    return re.findall(r'\w+\("(\w+)"\)', query.split(" FROM ")[0])


def test_provisioning_files_parse() -> None:
    for path in (GRAFANA / "provisioning").rglob("*.yml"):
        assert yaml.safe_load(path.read_text())["apiVersion"] == 1, path
    for path in (GRAFANA / "dashboards").glob("*.json"):
        assert json.loads(path.read_text())["uid"], path


def test_the_datasource_queries_influxql_with_the_token() -> None:
    spec = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "simcoach-influxdb.yml").read_text())
    (source,) = spec["datasources"]
    assert source["type"] == "influxdb"
    assert source["url"] == "http://influxdb:8086"
    assert source["jsonData"]["version"] == "InfluxQL"
    assert source["jsonData"]["httpHeaderName1"] == "Authorization"
    assert source["secureJsonData"]["httpHeaderValue1"] == "Token $INFLUX_TOKEN"
    assert source["jsonData"]["dbName"] == "$INFLUX_DB"
    grafana_env = stack.compose()["services"]["grafana"]["environment"]
    assert {"INFLUX_TOKEN", "INFLUX_DB"} <= set(grafana_env)
    # Every panel and variable points at this datasource by uid.
    uids = {p["datasource"]["uid"] for p in dashboard()["panels"]} | {
        v["datasource"]["uid"] for v in variables().values()
    }
    assert uids == {source["uid"]}


def test_the_dashboard_provider_reads_the_mounted_folder() -> None:
    spec = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "simcoach.yml").read_text())
    path = spec["providers"][0]["options"]["path"]
    mounts = stack.compose()["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in mounts


def test_every_query_reads_telemetry_channels_filtered_by_the_variables() -> None:
    queries = panel_queries()
    assert queries
    for query in queries:
        assert f'FROM "{MEASUREMENT}"' in query
        fields = selected_fields(query)
        assert fields and all(f in BY_NAME for f in fields), query
        for tag in TAGS:
            assert f'"{tag}" =~ /^${tag}$/' in query, query
        assert "$timeFilter" in query


def test_it_shows_the_channels_the_issue_asks_for() -> None:
    shown = {f for q in panel_queries() for f in selected_fields(q)}
    wanted = {"speed", "throttle", "brake", "rpm", "gear"}
    wanted |= {f"tyre_temp_{w}" for w in WHEELS} | {f"brake_temp_{w}" for w in WHEELS}
    assert wanted <= shown


def test_the_variables_list_tag_values_of_telemetry() -> None:
    found = variables()
    assert set(TAGS) <= set(found)
    for tag in TAGS:
        query = found[tag]["query"]
        assert query.startswith(f'SHOW TAG VALUES FROM "{MEASUREMENT}" WITH KEY = "{tag}"')
        assert found[tag]["multi"] and found[tag]["includeAll"]


def _fill(query: str, values: dict[str, str]) -> str:
    # What Grafana does before sending: macros, then the variables (a regex for multi-values).
    query = query.replace("$timeFilter", "time > now() - 1h").replace("$__interval", "1s")
    for name, value in values.items():
        query = query.replace(f"${name}", value)
    return query


@pytest.mark.influx
def test_the_queries_run_against_influxdb(influxd, tmp_path: Path) -> None:
    client = InfluxClient(url=influxd.url, database="grafana_check")
    client.create_database()
    n = 40
    t = time.time() - 60 + np.arange(n) * 0.05
    cols = {"t": t, "lap": np.where(np.arange(n) < n // 2, 1.0, 2.0)}
    for name in {f for q in panel_queries() for f in selected_fields(q)}:
        cols[name] = np.linspace(1.0, 2.0, n)
    InfluxTraceStore(client).write(session_id=42, user_id=7, seq_start=0, cols=cols)

    expected = {"user": ["7"], "session": ["42"], "lap": ["1", "2"]}
    chosen = {"user": "7", "session": "42", "lap": "(1|2)"}
    for tag in TAGS:
        series = client.query(_fill(variables()[tag]["query"], chosen))
        assert sorted(row[1] for row in series[0]["values"]) == expected[tag], tag
    for query in panel_queries():
        series = client.query(_fill(query, chosen))
        assert series, query
        values = [v for row in series[0]["values"] for v in row[1:] if v is not None]
        assert values, query
    # A lap filter narrows the data: lap 2 alone has no points from lap 1's time span.
    only_lap_2 = client.query(_fill(panel_queries()[0], {**chosen, "lap": "2"}))
    first_time = only_lap_2[0]["values"][0][0]
    assert first_time >= int(t[n // 2] * 1000) - 1000
