/** The handoff service's spans (instrumentation scope `handoff`). */
import { serviceSpans } from '@app/platform';

export const spans = serviceSpans('handoff');
