// Each gateway test starts from a fresh isolate's state: default tunables, no cached
// routes or credentials, no health records, a full log budget, counters at zero.
import { clearCredentialCache } from "../../src/gateway/access";
import { resetGatewayConfig } from "../../src/gateway/config";
import { clearOutlierState } from "../../src/gateway/outlier";
import { clearRouteCache } from "../../src/gateway/route-cache";
import { stats } from "../../src/gateway/stats";
import { unroutedLog } from "../../src/gateway/unrouted-log";

export function resetGatewayState(): void {
  // Config first: the credential lookup budget refills to the default burst.
  resetGatewayConfig();
  clearRouteCache();
  clearCredentialCache();
  clearOutlierState();
  unroutedLog.refill();
  for (const counter of Object.keys(stats) as (keyof typeof stats)[]) stats[counter] = 0;
}
