// What kubelet would write into a Pod's status, from what svcedge decided about it.
// svcedge runs no containers: a Pod with an address (status.podIP(s) or the svcedge.io/url
// annotation) is running; one without is Pending, and nothing can route to it. Its Ready
// condition says what the endpoints controller reads (endpoints-controller.ts
// podReadyCondition): ready at once without a readiness probe, not ready with one until
// the node agent's prober reports. So `kubectl wait --for=condition=Ready` and
// `kubectl get pods` show the decision. A phase or Ready condition the client wrote stands,
// except "Pending" on a Pod that now has an address.
import { kubeTime } from "./timestamps";
import { POD_URL_ANNOTATION, type Pod, type PodCondition } from "./types";

export const podHasAddress = (pod: Pod): boolean => Boolean(pod.status?.podIP || pod.status?.podIPs?.length || pod.metadata.annotations?.[POD_URL_ANNOTATION]);

export function setDecidedPodStatus(pod: Pod, now = Date.now()): void {
  const addressed = podHasAddress(pod);
  const status = (pod.status ??= {});
  if (!status.phase || (status.phase === "Pending" && addressed)) status.phase = addressed ? "Running" : "Pending";
  if (!addressed || status.conditions?.some((c) => c.type === "Ready")) return;
  const probed = pod.spec.containers.some((c) => c.readinessProbe);
  const ready: PodCondition = { type: "Ready", status: probed ? "False" : "True", lastProbeTime: null, lastTransitionTime: kubeTime(now) };
  if (probed) ready.reason = "ContainersNotReady";
  status.conditions = [...(status.conditions ?? []), ready];
}
