# utils.create_from_yaml with the seed manifest (the YAML file named on the command line).
import os
import sys

from kubernetes import client, utils

from common import api_client, emit

ns = os.environ["SVCEDGE_NAMESPACE"]
api = api_client()
created = utils.create_from_yaml(api, sys.argv[1], namespace=ns)
emit(step="created", kinds=[o.kind for group in created for o in group])
svc = client.CoreV1Api(api).read_namespaced_service("nginx", ns)
emit(step="read", clusterIP=svc.spec.cluster_ip, ports=[[p.name, p.protocol, p.port, p.target_port] for p in svc.spec.ports])
try:
    utils.create_from_yaml(api, sys.argv[1], namespace=ns)
except utils.FailToCreateError as e:
    emit(step="again", statuses=[x.status for x in e.api_exceptions])
