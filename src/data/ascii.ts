/**
 * TYPE A (ASCII) line-end conversion; it lives in `representation/ascii.ts` beside the other
 * data representations.
 *
 * @module
 */

export { fromNetworkAscii, toNetworkAscii } from "./representation/ascii.ts";
