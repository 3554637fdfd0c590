// Dapr's CustomResourceDefinitions as the chart ships them and as the operator changes them in the cluster.
import type { K8sObject } from '../cluster/k8s-types.js';

export interface CrdObject extends K8sObject {
  spec?: { conversion?: { strategy?: string; webhook?: { clientConfig?: { service?: { namespace?: string }; caBundle?: string } } } };
}

/**
 * The Subscription CRD converts through the operator's webhook: the chart ships it with service namespace
 * `replaceme` and no caBundle, and the operator patches both when it starts and when the trust anchors change
 * (dapr/dapr pkg/operator/operator.go, patchConversionWebhooksInCRDs); it never watches the CRD. Applying the
 * chart's file as is would reset them and break v1alpha1 <-> v2alpha1 conversion until the operator restarts,
 * and would count as a change on every run. So the live namespace and caBundle are kept in what daprup applies.
 */
export function keepLiveConversion(chartCrd: CrdObject, live: CrdObject | undefined): CrdObject {
  const liveClient = live?.spec?.conversion?.webhook?.clientConfig;
  const client = chartCrd.spec?.conversion?.webhook?.clientConfig;
  if (!liveClient || !client || chartCrd.spec?.conversion?.strategy !== 'Webhook' || live?.spec?.conversion?.strategy !== 'Webhook')
    return chartCrd;
  const out = structuredClone(chartCrd);
  const outClient = out.spec!.conversion!.webhook!.clientConfig!;
  if (liveClient.service?.namespace && outClient.service) outClient.service.namespace = liveClient.service.namespace;
  if (liveClient.caBundle) outClient.caBundle = liveClient.caBundle;
  return out;
}
