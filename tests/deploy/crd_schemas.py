"""JSON Schemas of the `spec` of the operators' custom resources deploy/k8s uses (RabbitMQ Cluster Operator,
Messaging Topology Operator, CloudNativePG), written for these tests from the operators' API references.

The CRDs themselves are not vendored here; these schemas cover every field deploy/k8s sets and refuse unknown
fields at the levels we write, so a typo or a wrong enum value fails offline instead of at `kubectl apply`.
"""

from __future__ import annotations

_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_INT = {"type": "integer"}
_QUANTITY = {"type": ["string", "integer"], "pattern": r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"}
_NAME_REF = {"type": "object", "required": ["name"], "properties": {"name": _STR}, "additionalProperties": False}
_RESOURCES = {
    "type": "object",
    "properties": {
        k: {"type": "object", "properties": {"cpu": _QUANTITY, "memory": _QUANTITY}, "additionalProperties": False}
        for k in ("requests", "limits")
    },
    "additionalProperties": False,
}
_CLUSTER_REF = {
    "type": "object",
    "properties": {"name": _STR, "namespace": _STR, "connectionSecret": _NAME_REF},
    "additionalProperties": False,
}


def _strict(properties: dict, required=()) -> dict:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


RABBITMQ_CLUSTER = _strict(
    {
        "replicas": {"type": "integer", "minimum": 0},
        "image": _STR,
        "imagePullSecrets": {"type": "array"},
        "service": {"type": "object"},
        "persistence": _strict({"storage": _QUANTITY, "storageClassName": _STR}),
        "resources": _RESOURCES,
        "affinity": {"type": "object"},
        "tolerations": {"type": "array"},
        "rabbitmq": _strict(
            {
                "additionalConfig": _STR,
                "advancedConfig": _STR,
                "envConfig": _STR,
                "additionalPlugins": {"type": "array", "items": _STR},
                "erlangInetConfig": _STR,
            }
        ),
        "tls": {"type": "object"},
        "override": {"type": "object"},
        "skipPostDeploySteps": _BOOL,
        "terminationGracePeriodSeconds": _INT,
        "delayStartSeconds": _INT,
        "secretBackend": {"type": "object"},
        "autoEnableAllFeatureFlags": _BOOL,
    }
)

_TOPOLOGY_COMMON = {"vhost": _STR, "rabbitmqClusterReference": _CLUSTER_REF}

EXCHANGE = _strict(
    {
        "name": _STR,
        "type": {"type": "string", "enum": ["direct", "fanout", "headers", "topic", "x-consistent-hash"]},
        "durable": _BOOL,
        "autoDelete": _BOOL,
        "arguments": {"type": "object"},
        **_TOPOLOGY_COMMON,
    },
    ["name", "rabbitmqClusterReference"],
)
QUEUE = _strict(
    {
        "name": _STR,
        "type": {"type": "string", "enum": ["classic", "quorum", "stream"]},
        "durable": _BOOL,
        "autoDelete": _BOOL,
        "arguments": {"type": "object"},
        "deleteIfEmpty": _BOOL,
        "deleteIfUnused": _BOOL,
        **_TOPOLOGY_COMMON,
    },
    ["name", "rabbitmqClusterReference"],
)
BINDING = _strict(
    {
        "source": _STR,
        "destination": _STR,
        "destinationType": {"type": "string", "enum": ["exchange", "queue"]},
        "routingKey": _STR,
        "routingKeys": {"type": "array", "items": _STR},
        "arguments": {"type": "object"},
        **_TOPOLOGY_COMMON,
    },
    ["rabbitmqClusterReference"],
)
POLICY = _strict(
    {
        "name": _STR,
        "pattern": _STR,
        "applyTo": {
            "type": "string",
            "enum": ["queues", "exchanges", "all", "classic_queues", "quorum_queues", "streams"],
        },
        "priority": {"type": "integer", "minimum": 0},
        "definition": {"type": "object", "minProperties": 1},
        **_TOPOLOGY_COMMON,
    },
    ["name", "pattern", "definition", "rabbitmqClusterReference"],
)
USER = _strict(
    {
        "tags": {
            "type": "array",
            "items": {"type": "string", "enum": ["management", "policymaker", "monitoring", "administrator"]},
        },
        "importCredentialsSecret": _NAME_REF,
        "rabbitmqClusterReference": _CLUSTER_REF,
    },
    ["rabbitmqClusterReference"],
)
PERMISSION = {
    **_strict(
        {
            "vhost": _STR,
            "user": _STR,
            "userReference": _NAME_REF,
            "permissions": _strict({"configure": _STR, "write": _STR, "read": _STR}),
            "rabbitmqClusterReference": _CLUSTER_REF,
        },
        ["vhost", "permissions", "rabbitmqClusterReference"],
    ),
    "oneOf": [{"required": ["user"]}, {"required": ["userReference"]}],
}

_BARMAN = _strict(
    {
        "destinationPath": {"type": "string", "pattern": r"^(s3|gs|https?)://"},
        "endpointURL": _STR,
        "s3Credentials": _strict(
            {
                "accessKeyId": _strict({"name": _STR, "key": _STR}, ["name", "key"]),
                "secretAccessKey": _strict({"name": _STR, "key": _STR}, ["name", "key"]),
                "region": _strict({"name": _STR, "key": _STR}, ["name", "key"]),
                "inheritFromIAMRole": _BOOL,
            }
        ),
        "wal": _strict(
            {"compression": {"enum": ["bzip2", "gzip", "lz4", "snappy", "xz", "zstd"]}, "maxParallel": _INT}
        ),
        "data": _strict({"compression": {"enum": ["bzip2", "gzip", "snappy"]}, "jobs": _INT}),
    },
    ["destinationPath"],
)
PG_CLUSTER = _strict(
    {
        "instances": {"type": "integer", "minimum": 1},
        "imageName": _STR,
        "primaryUpdateStrategy": {"enum": ["unsupervised", "supervised"]},
        "storage": _strict({"size": _QUANTITY, "storageClass": _STR}),
        "walStorage": _strict({"size": _QUANTITY, "storageClass": _STR}),
        "resources": _RESOURCES,
        "postgresql": _strict({"parameters": {"type": "object", "additionalProperties": _STR}}),
        "bootstrap": _strict(
            {"initdb": _strict({"database": _STR, "owner": _STR, "secret": _NAME_REF}), "recovery": {"type": "object"}}
        ),
        "managed": _strict(
            {
                "roles": {
                    "type": "array",
                    "items": _strict(
                        {
                            "name": _STR,
                            "ensure": {"enum": ["present", "absent"]},
                            "login": _BOOL,
                            "superuser": _BOOL,
                            "createdb": _BOOL,
                            "passwordSecret": _NAME_REF,
                            "connectionLimit": _INT,
                        },
                        ["name"],
                    ),
                }
            }
        ),
        "backup": _strict(
            {"retentionPolicy": {"type": "string", "pattern": r"^[1-9][0-9]*[dwm]$"}, "barmanObjectStore": _BARMAN}
        ),
        "monitoring": {"type": "object"},
        "affinity": {"type": "object"},
    },
    ["instances"],
)
SCHEDULED_BACKUP = _strict(
    {
        # Six fields: seconds first.
        "schedule": {"type": "string", "pattern": r"^\S+( \S+){5}$"},
        "cluster": _NAME_REF,
        "backupOwnerReference": {"enum": ["none", "self", "cluster"]},
        "immediate": _BOOL,
        "suspend": _BOOL,
        "method": {"enum": ["barmanObjectStore", "volumeSnapshot", "plugin"]},
    },
    ["schedule", "cluster"],
)
DATABASE = _strict(
    {
        "name": _STR,
        "owner": _STR,
        "cluster": _NAME_REF,
        "ensure": {"enum": ["present", "absent"]},
        "databaseReclaimPolicy": {"enum": ["delete", "retain"]},
    },
    ["name", "owner", "cluster"],
)

# kind -> (apiVersion, schema of spec)
CUSTOM_RESOURCE_SCHEMAS = {
    "RabbitmqCluster": ("rabbitmq.com/v1beta1", RABBITMQ_CLUSTER),
    "Exchange": ("rabbitmq.com/v1beta1", EXCHANGE),
    "Queue": ("rabbitmq.com/v1beta1", QUEUE),
    "Binding": ("rabbitmq.com/v1beta1", BINDING),
    "Policy": ("rabbitmq.com/v1beta1", POLICY),
    "User": ("rabbitmq.com/v1beta1", USER),
    "Permission": ("rabbitmq.com/v1beta1", PERMISSION),
    "Cluster": ("postgresql.cnpg.io/v1", PG_CLUSTER),
    "ScheduledBackup": ("postgresql.cnpg.io/v1", SCHEDULED_BACKUP),
    "Database": ("postgresql.cnpg.io/v1", DATABASE),
}
