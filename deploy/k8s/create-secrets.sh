#!/usr/bin/env bash
# Create the Secrets a Guanjia city needs, with fresh random values, in namespace guanjia-<city>.
# Run once per city, before `kubectl apply -k deploy/k8s/overlays/<city>`; existing Secrets are left alone
# (rotate them as docs/operators.md describes). Prints the integrator's broker credential to hand over.
#
#   deploy/k8s/create-secrets.sh shanghai
#
# Needs kubectl (pointed at the cluster) and openssl.
set -euo pipefail

city=${1:?usage: create-secrets.sh <city>}
ns="guanjia-$city"
services="residents tickets billing notifications gateway"
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
done
for service in $web_services; do
    create "$service-db" --type=kubernetes.io/basic-auth \
        --from-literal=username="$service" --from-literal=password="$(random)"
done
create integrator-amqp --from-literal=username=integrator --from-literal=password="$(random)"

cat <<DONE
Secrets are in $ns. Still to create yourself (they come from outside):
  backup-s3          ACCESS_KEY_ID, ACCESS_SECRET_KEY for the backup bucket (CloudNativePG)
  notifications-sms  GUANJIA_SMS_ALIYUN_* / GUANJIA_SMS_TENCENT_* provider credentials (optional for console)
  billing-payments   GUANJIA_BILLING_CALLBACK_SECRET (optional)
The metrics token (Prometheus → gateway /metrics):  kubectl -n $ns get secret guanjia-keys -o jsonpath='{.data.metrics-token}' | base64 -d
The first admin password:   kubectl -n $ns get secret guanjia-keys -o jsonpath='{.data.admin-password}' | base64 -d
The integrator's password:  kubectl -n $ns get secret integrator-amqp -o jsonpath='{.data.password}' | base64 -d
DONE
