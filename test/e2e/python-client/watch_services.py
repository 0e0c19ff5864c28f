# Watch().stream over one namespace's Services while this script changes them: every
# change must arrive once, in order, through one watch (python sends watch=True).
import os

from kubernetes import client, watch

from common import api_client, emit, fail

ns = os.environ["SVCEDGE_NAMESPACE"]
api = client.CoreV1Api(api_client())


def service(name: str) -> client.V1Service:
    return client.V1Service(metadata=client.V1ObjectMeta(name=name), spec=client.V1ServiceSpec(selector={"app": name}, ports=[client.V1ServicePort(port=80)]))


api.create_namespaced_service(ns, service("first"))
# Each event triggers the next change; the watch ends when the last one arrives.
steps = {
    ("ADDED", "first"): lambda: api.create_namespaced_service(ns, service("second")),
    ("ADDED", "second"): lambda: api.patch_namespaced_service("first", ns, {"metadata": {"labels": {"changed": "yes"}}}),
    ("MODIFIED", "first"): lambda: api.delete_namespaced_service("second", ns),
}
w = watch.Watch()
for event in w.stream(api.list_namespaced_service, ns, timeout_seconds=30, allow_watch_bookmarks=True):
    obj = event["object"]
    if event["type"] == "BOOKMARK":
        continue
    emit(type=event["type"], name=obj.metadata.name, resourceVersion=obj.metadata.resource_version, labels=obj.metadata.labels)
    step = steps.pop((event["type"], obj.metadata.name), None)
    if step:
        step()
    if event["type"] == "DELETED":
        w.stop()
if steps:
    fail(f"the watch ended before these events: {sorted(steps)}")
