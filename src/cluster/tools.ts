// The two programs daprup drives, as the adapters every layer above is handed.
import type { Helm } from './helm.js';
import type { Kubectl } from './kubectl.js';

export interface Tools {
  helm: Helm;
  kubectl: Kubectl;
}
