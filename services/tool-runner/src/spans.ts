/** The tool-runner's spans (instrumentation scope `tool-runner`). */
import { serviceSpans } from '@app/platform';

export const spans = serviceSpans('tool-runner');
