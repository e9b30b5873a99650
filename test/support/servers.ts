/**
 * The tests' real servers (redis-server, influxd, victoria-metrics, postgres, freeradius on free
 * loopback ports): the harness lives in bench/servers.ts (and bench/freeradius.ts) so that the
 * benchmarks, which run from dist/, start the same servers the same way.
 */

export {
  type FreeradiusOptions,
  type FreeradiusServer,
  startFreeradius,
} from "../../bench/freeradius.js";
export * from "../../bench/servers.js";
