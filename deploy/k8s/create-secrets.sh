#!/usr/bin/env bash
# Create the Secrets a Guanjia city needs, with fresh random values, in namespace guanjia-<city>.
# Run once per city, before `kubectl apply -k deploy/k8s/overlays/<city>`; existing Secrets are left alone
# (rotate them as docs/operators.md describes), except that a <service>-db or <service>-amqp Secret without a
# `url` key gets one built from its username and password (the pods mount that URL as a file). Safe to re-run.
# Prints the integrator's broker credential to hand over.
#
#   deploy/k8s/create-secrets.sh shanghai
#
# Needs kubectl (pointed at the cluster) and openssl.
set -euo pipefail

city=${1:?usage: create-secrets.sh <city>}
ns="guanjia-$city"
services="residents tickets billing notifications gateway"
services="$services staff"
services="$services community"
# The workbench has a database (its sessions) but no broker user: it publishes and consumes no events.
web_services="workbench"

random() { openssl rand -base64 48 | tr -d '/+=\n' | cut -c1-40; }
# An Ed25519 signing key as Guanjia reads it: the 32-byte seed, base64url without padding.
ed25519() { openssl rand 32 | openssl base64 -A | tr '+/' '-_' | tr -d '='; }
exists() { kubectl -n "$ns" get secret "$1" >/dev/null 2>&1; }
create() { # name, then --from-literal arguments
    local name=$1
    shift
    if exists "$name"; then
        echo "secret/$name exists, kept"
    else
        kubectl -n "$ns" create secret generic "$name" "$@"
    fi
}

# The connection URL the service reads from its mounted file (GUANJIA_<SERVICE>_DATABASE_URL_FILE / _AMQP_URL_FILE),
# added to a Secret that has none. The generated passwords are alphanumeric, so they need no URL quoting.
ensure_url() { # secret name, then the URL with USER and PASSWORD placeholders
    local name=$1 template=$2 user password url
    if [ -n "$(kubectl -n "$ns" get secret "$name" -o jsonpath='{.data.url}')" ]; then
        return
    fi
    user=$(kubectl -n "$ns" get secret "$name" -o jsonpath='{.data.username}' | base64 -d)
    password=$(kubectl -n "$ns" get secret "$name" -o jsonpath='{.data.password}' | base64 -d)
    url=${template/USER/$user}
    url=${url/PASSWORD/$password}
    kubectl -n "$ns" patch secret "$name" -p "{\"stringData\":{\"url\":\"$url\"}}" >/dev/null
    echo "secret/$name: url added"
}

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"

# Keys shared by the services: service-to-service signing, PII encryption at rest, the gateway's token key.
create guanjia-keys \
    --from-literal=service-key="$(ed25519)" \
    --from-literal=jwt-private-key="$(ed25519)" \
    --from-literal=pii-key="$(random)" \
    --from-literal=admin-password="$(random)" \
    --from-literal=metrics-token="$(random)" \
    --from-literal=workbench-secret="$(random)"

for service in $services; do
    # Broker user (imported by the Messaging Topology Operator) and database role (CloudNativePG).
    create "$service-amqp" --from-literal=username="$service" --from-literal=password="$(random)"
    create "$service-db" --type=kubernetes.io/basic-auth \
        --from-literal=username="$service" --from-literal=password="$(random)"
    ensure_url "$service-amqp" "amqp://USER:PASSWORD@rabbitmq:5672/%2F"
    ensure_url "$service-db" "postgresql+psycopg://USER:PASSWORD@postgres-rw:5432/guanjia_$service"
done
for service in $web_services; do
    create "$service-db" --type=kubernetes.io/basic-auth \
        --from-literal=username="$service" --from-literal=password="$(random)"
    ensure_url "$service-db" "postgresql+psycopg://USER:PASSWORD@postgres-rw:5432/guanjia_$service"
done
# Mounted by billing and notifications as files, so they must exist: empty values (callbacks refused, no SMS
# provider keys) until you fill them in (`kubectl -n $ns patch secret ... -p '{"stringData":{...}}'`).
create billing-payments --from-literal=GUANJIA_BILLING_CALLBACK_SECRET=
sms_keys=""
for key in ALIYUN_ACCESS_KEY_ID ALIYUN_ACCESS_KEY_SECRET ALIYUN_CALLBACK_TOKEN TENCENT_SECRET_ID TENCENT_SECRET_KEY \
    TENCENT_CALLBACK_TOKEN TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN; do
    sms_keys="$sms_keys --from-literal=GUANJIA_SMS_$key="
done
# shellcheck disable=SC2086 # one argument per key
create notifications-sms $sms_keys
# The WeChat official account's secret and server-configuration Token, the SMTP relay's password (empty: WeChat
# and the e-mailed reports stay off).
create notifications-channels --from-literal=GUANJIA_WECHAT_APP_SECRET= --from-literal=GUANJIA_WECHAT_CALLBACK_TOKEN= \
    --from-literal=GUANJIA_SMTP_PASSWORD=
create integrator-amqp --from-literal=username=integrator --from-literal=password="$(random)"

cat <<DONE
Secrets are in $ns. Still to create yourself (they come from outside):
  backup-s3          ACCESS_KEY_ID, ACCESS_SECRET_KEY for the backup bucket (CloudNativePG)
Still to fill in (created empty above; every key must stay present, the pods mount each one as a file):
  notifications-sms  GUANJIA_SMS_ALIYUN_* / GUANJIA_SMS_TENCENT_* / GUANJIA_SMS_TWILIO_* provider credentials
  notifications-channels  GUANJIA_WECHAT_APP_SECRET, GUANJIA_WECHAT_CALLBACK_TOKEN, GUANJIA_SMTP_PASSWORD
  billing-payments   GUANJIA_BILLING_CALLBACK_SECRET (empty: payment callbacks are refused)
The metrics token (Prometheus → gateway /metrics):  kubectl -n $ns get secret guanjia-keys -o jsonpath='{.data.metrics-token}' | base64 -d
The first admin password:   kubectl -n $ns get secret guanjia-keys -o jsonpath='{.data.admin-password}' | base64 -d
The integrator's password:  kubectl -n $ns get secret integrator-amqp -o jsonpath='{.data.password}' | base64 -d
DONE
