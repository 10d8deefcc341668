/** The gateway's spans (instrumentation scope `gateway`): one per webhook that starts a call. */
import { serviceSpans } from '@app/platform';

export const spans = serviceSpans('gateway');
