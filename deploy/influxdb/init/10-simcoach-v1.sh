#!/bin/bash
# Runs once, when the influxdb container starts on an empty volume, right after the image's own
# setup (DOCKER_INFLUXDB_INIT_*) created the org, the bucket and the admin token. The image
# exports the new bucket's id and points the `influx` CLI at the setup server with that token.
#
# SimCoach speaks InfluxQL over the v1 endpoints (/write, /query), and so does Grafana's InfluxQL
# datasource: both name a v1 *database*, which InfluxDB 2.x maps onto a bucket through a DBRP
# mapping. Without it every write answers 404 "database not found".
set -euo pipefail

: "${DOCKER_INFLUXDB_INIT_BUCKET_ID:?the influxdb image exports it after setup}"
: "${INFLUX_DB:?the v1 database name SimCoach writes to (compose sets it)}"

influx v1 dbrp create \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db "${INFLUX_DB}" \
  --rp autogen \
  --default

# A v1 user/password with read access to the bucket, for InfluxQL clients that cannot send a
# token header (the 1.x `influx` shell, `curl -u`, a read-only Grafana datasource). The site
# itself authenticates with the token (Authorization: Token ...).
if [ -n "${INFLUX_V1_USERNAME:-}" ] && [ -n "${INFLUX_V1_PASSWORD:-}" ]; then
  influx v1 auth create \
    --username "${INFLUX_V1_USERNAME}" \
    --password "${INFLUX_V1_PASSWORD}" \
    --read-bucket "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
    --description "SimCoach read-only InfluxQL access"
fi
