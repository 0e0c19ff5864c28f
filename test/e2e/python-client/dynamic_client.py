# DynamicClient: discovery of what svcedge serves, then create, get, list, patch
# (merge and strategic), replace and delete of a Service through it.
import os

from kubernetes import client
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from common import api_client, emit, fail

ns = os.environ["SVCEDGE_NAMESPACE"]
api = api_client()
emit(step="api-versions", versions=client.CoreApi(api).get_api_versions().versions)
emit(step="api-group", name=client.DiscoveryApi(api).get_api_group().name)
dyn = DynamicClient(api)
services = dyn.resources.get(api_version="v1", kind="Service")
slices = dyn.resources.get(api_version="discovery.k8s.io/v1", kind="EndpointSlice")
leases = dyn.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
emit(step="discovery", services=[services.name, services.namespaced, services.short_names], slices=slices.name, leases=leases.name)
try:
    dyn.resources.get(api_version="apps/v1", kind="Deployment")
    fail("discovery found apps/v1 Deployments, which svcedge does not serve")
except ResourceNotFoundError:
    emit(step="no-deployments")

manifest = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "dyn"},
    "spec": {"selector": {"app": "dyn"}, "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]},
}
created = services.create(body=manifest, namespace=ns)
emit(step="create", clusterIP=created.spec.clusterIP, ports=[p.port for p in created.spec.ports])
got = services.get(name="dyn", namespace=ns)
emit(step="get", uid=got.metadata.uid == created.metadata.uid)
listed = services.get(namespace=ns)
emit(step="list", kind=listed.kind, names=[i.metadata.name for i in listed.items])
merged = services.patch(name="dyn", namespace=ns, body={"metadata": {"labels": {"tier": "web"}}}, content_type="application/merge-patch+json")
emit(step="merge-patch", labels=merged.to_dict()["metadata"]["labels"])
strategic = services.patch(name="dyn", namespace=ns, body={"spec": {"ports": [{"port": 443, "targetPort": 8443}]}}, content_type="application/strategic-merge-patch+json")
emit(step="strategic-patch", ports=[[p["port"], p["targetPort"]] for p in strategic.to_dict()["spec"]["ports"]])
body = strategic.to_dict()
body["metadata"]["annotations"] = {"note": "replaced"}
replaced = services.replace(body=body, namespace=ns)
emit(step="replace", annotations=replaced.to_dict()["metadata"]["annotations"], resourceVersionChanged=replaced.metadata.resourceVersion != strategic.metadata.resourceVersion)
deleted = services.delete(name="dyn", namespace=ns)
emit(step="delete", kind=deleted.kind)
try:
    services.get(name="dyn", namespace=ns)
    fail("the Service is still there after its deletion")
except NotFoundError as e:
    emit(step="gone", status=e.status)
